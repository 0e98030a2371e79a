import { Inject, Injectable } from '@nestjs/common';
import { AppConfig, configuredModelIds } from '../config/app-config';
import {
  EmbeddingError,
  EmbeddingErrorCode,
  invalidInput,
  Terms,
  unknownModel,
  unsupportedOperation,
} from './embedding.errors';
import {
  allEmbedded,
  EmbedInput,
  EmbeddingModel,
  EmbeddingReadiness,
  EmbedOptions,
  EmbedResult,
  firstRefusal,
  hasCapability,
  isText,
  isTokenIds,
  ModelInfo,
  TextToken,
  TokenIds,
  TokenizeOptions,
} from './providers/embedding-model';

/** The injection token of the configured models (embedding-model.factory.ts builds them). */
export const EMBEDDING_MODELS = Symbol('EMBEDDING_MODELS');

/** One embedding request in any caller's shape, reduced to texts (or token ids) and options. */
export interface EmbedCall<I extends EmbedInput = string> {
  model?: string;
  texts: I[];
  options: EmbedOptions;
  /** The caller's field holding the texts, for messages: `input`, `inputs`, `chunks`, `text`. */
  field: string;
  /** How messages name text `index`: `input[3]`, `chunks[3].text`, `text`. */
  label: (index: number) => string;
  /**
   * Called once the inputs passed every check, before the model runs: a route that sizes its answer from the model
   * (AnswerAdmission) refuses it here by throwing.
   */
  admit?: (model: ModelInfo) => void;
}

export interface EmbedOutcome {
  model: string;
  dimensions: number;
  vectors: Float32Array[];
  /** From the model's tokenizer; about one token per 4 characters when the back end cannot count. */
  promptTokens: number;
}

/** The hidden state of every token of every input (TEI's /embed_all). */
export interface TokenVectorsOutcome {
  model: string;
  vectors: Float32Array[][];
}

/** Per text: its vector, or why it was refused (by the request limits or by the model), in the caller's terms. */
export interface EmbedEachOutcome {
  model: string;
  dimensions: number;
  vectors: Array<Float32Array | undefined>;
  refused: Map<number, EmbeddingError>;
  /**
   * Tokens each embedded text cost (0 for a refused one): the model's count, for a remote its usage apportioned over
   * the texts of each request; estimated where the back end cannot tell.
   */
  tokens: number[];
}

/** The models name options in camelCase; callers sent snake_case. */
const REQUEST_FIELDS: Record<string, string> = { promptName: 'prompt_name' };

/**
 * The rules every embedding caller shares, over the configured models (one EmbeddingModel each, kept by name): which
 * model serves a call, every check of the inputs (EMBED_MAX_*, types, dimensions), and the models' errors restated
 * in the caller's own field names. Failures are EmbeddingErrors; each API dialect's exception filter turns them into
 * its own error body.
 */
@Injectable()
export class EmbeddingService {
  private byId: Map<string, EmbeddingModel>;

  constructor(
    @Inject(EMBEDDING_MODELS) private readonly models: EmbeddingModel[],
    private readonly config: AppConfig,
  ) {
    this.byId = new Map(models.map((model) => [model.id, model]));
  }

  /**
   * Loads every model at once; if any fails, all are closed and its error rejects. A model that names itself once
   * loaded (a TEI server's) is found under that name from then on.
   */
  async load(): Promise<void> {
    const results = await Promise.allSettled(this.models.map((model) => model.load()));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) {
      await this.close();
      throw failure.reason;
    }
    this.byId = new Map(this.models.map((model) => [model.id, model]));
  }

  async close(): Promise<void> {
    await Promise.all(this.models.map((model) => model.close()));
  }

  /**
   * Configured model ids, in configuration order (EMBEDDING_MODELS, then the models file), and any model a back end
   * named itself (a TEI server's, when EMBEDDING_MODELS is empty); empty on an API-only instance.
   */
  servedModels(): string[] {
    return [...new Set([...configuredModelIds(this.config), ...this.readyModels()])];
  }

  /** The models loaded and warmed up, ready to embed now. */
  readyModels(): string[] {
    return this.models.filter(isReady).map((model) => model.id);
  }

  /** Every model's state; a model on another server also asks the server, within `signal`. */
  async readiness(signal?: AbortSignal): Promise<EmbeddingReadiness> {
    const models = await Promise.all(this.models.map((model) => model.readiness(signal)));
    const ready = models.length > 0 && models.every((model) => model.warmedUp && model.error === undefined);
    return { ready, models };
  }

  /** The model served under `name`; UnknownModel when none is. */
  model(name: string): EmbeddingModel {
    const model = this.byId.get(name);
    if (!model) throw unknownModel(name, this.servedModels());
    return model;
  }

  /** The named model, or the first configured one; unknown: UnknownModel, not loaded (or none): ModelNotReady. */
  resolveModel(name?: string): ModelInfo {
    const served = this.servedModels();
    if (served.length === 0) {
      const message = 'No embedding model is configured on this instance (EMBEDDING_MODELS is empty)';
      throw new EmbeddingError(EmbeddingErrorCode.ModelNotReady, message);
    }
    return this.model(name ?? served[0]).info();
  }

  /**
   * Every input or an error, for the API dialects: the request limits first, then the model, in one call; the first
   * input refused fails the whole request. Inputs may be token ids where the back end takes them.
   */
  async embed(call: EmbedCall<EmbedInput>): Promise<EmbedOutcome> {
    const model = this.checkedModel(call);
    const result = await this.model(model.id).embed(call.texts, call.options).catch(this.restating(call));
    const vectors = allEmbedded(this.inCallTerms(result, call, (index) => index));
    const estimate = (input: EmbedInput) => (isText(input) ? estimateTokens(input) : input.length);
    const promptTokens = sum(result.tokenCounts ?? call.texts.map(estimate));
    return { model: model.id, dimensions: vectors[0]?.length ?? model.dimensions, vectors, promptTokens };
  }

  /** The hidden state of every token of every input, under the same limits as embed. */
  async embedTokens(call: EmbedCall<EmbedInput>): Promise<TokenVectorsOutcome> {
    const { id } = this.checkedModel({ ...call, options: { ...call.options, dimensions: undefined } });
    const model = this.model(id);
    if (!hasCapability(model, 'embedTokens')) throw unsupportedOperation(id, 'token-level vectors');
    const result = await model.embedTokens(call.texts, call.options).catch(this.restating(call));
    return { model: id, vectors: allEmbedded(this.inCallTerms(result, call, (index) => index)) };
  }

  /** Each text's tokens, under the same limits as embed; options are those of tokenising. */
  async tokenize(call: Omit<EmbedCall, 'options'> & { options: TokenizeOptions }): Promise<TextToken[][]> {
    const { id } = this.checkedModel({ ...call, options: {} });
    const model = this.model(id);
    if (!hasCapability(model, 'tokenize')) throw unsupportedOperation(id, 'tokenizing');
    return model.tokenize(call.texts, call.options).catch(this.restating(call));
  }

  /** Each id list back to text, under the same limits as embed (an id list counts as one input). */
  async decode(call: Omit<EmbedCall<TokenIds>, 'options'>, skipSpecialTokens: boolean): Promise<string[]> {
    const { id } = this.checkedModel({ ...call, options: {} });
    const model = this.model(id);
    if (!hasCapability(model, 'tokenize')) throw unsupportedOperation(id, 'decoding token ids');
    return model.decode(call.texts, skipSpecialTokens).catch(this.restating(call));
  }

  /** More inputs than EMBED_MAX_INPUTS, or none: a TooManyInputs or EmptyInput error naming `field`. */
  checkCount(count: number, field: string): void {
    const { maxInputs } = this.config.embedding;
    if (count === 0) {
      throw new EmbeddingError(EmbeddingErrorCode.EmptyInput, `${field} must hold at least one text`, { field });
    }
    if (count > maxInputs) {
      const message = `${field}: at most ${maxInputs} inputs per request; got ${count}`;
      const limit = { maximum: maxInputs, given: count };
      throw new EmbeddingError(EmbeddingErrorCode.TooManyInputs, message, { field, limit });
    }
  }

  /**
   * Per text, for callers that fail only the texts at fault (delivery): a text refused by the model, or with
   * `requestLimits` by the per-text limits, comes back refused beside the other texts' vectors. An empty or too long
   * list, and any error about the call as a whole, still fail the call.
   */
  async embedEach(call: EmbedCall, requestLimits: boolean): Promise<EmbedEachOutcome> {
    const model = this.resolveModel(call.model);
    checkTypes(call, false);
    if (requestLimits) this.checkCount(call.texts.length, call.field);
    const refused = requestLimits ? this.checkTexts(call) : new Map<number, EmbeddingError>();
    checkOptions(call.options, model);
    const pending = call.texts.flatMap((_, index) => (refused.has(index) ? [] : [index]));
    const texts = pending.map((index) => call.texts[index]);
    const result = await this.model(model.id).embed(texts, call.options).catch(this.restating(call));
    const embedded = this.inCallTerms(result, call, (position) => pending[position]);
    const vectors = new Array<Float32Array | undefined>(call.texts.length);
    const tokens = new Array<number>(call.texts.length).fill(0);
    pending.forEach((index, position) => {
      vectors[index] = embedded.vectors[position];
      if (vectors[index]) tokens[index] = result.tokenCounts?.[position] ?? estimateTokens(texts[position]);
    });
    embedded.refused.forEach((error, position) => refused.set(pending[position], error));
    const dimensions = vectors.find(Boolean)?.length ?? call.options.dimensions ?? model.dimensions;
    return { model: model.id, dimensions, vectors, refused, tokens };
  }

  /**
   * How many tokens each text would be, without embedding it (what reusing a stored vector saved): the model's own
   * count where the back end can tell, else about one token per 4 characters.
   */
  async countTokens(name: string, texts: string[], options: EmbedOptions = {}): Promise<number[]> {
    const model = this.model(name);
    if (!hasCapability(model, 'countTokens')) return texts.map(estimateTokens);
    return model.countTokens(texts, options);
  }

  /** The call's model, once every check of the inputs passed; the first input refused by them fails the call. */
  private checkedModel(call: EmbedCall<EmbedInput>): ModelInfo {
    const model = this.resolveModel(call.model);
    checkTypes(call, true);
    this.checkCount(call.texts.length, call.field);
    const refused = firstRefusal(this.checkTexts(call));
    if (refused) throw refused;
    checkOptions(call.options, model);
    call.admit?.(model);
    return model;
  }

  /** Empty inputs and inputs over EMBED_MAX_INPUT_CHARS characters (or token ids), by index. */
  private checkTexts({ texts, field, label }: EmbedCall<EmbedInput>): Map<number, EmbeddingError> {
    const { maxInputChars } = this.config.embedding;
    const refused = new Map<number, EmbeddingError>();
    texts.forEach((text, index) => {
      if (text.length === 0) {
        const message = `${label(index)} must not be empty`;
        refused.set(index, new EmbeddingError(EmbeddingErrorCode.EmptyInput, message, { field, index }));
      } else if (text.length > maxInputChars) {
        const unit = isText(text) ? 'characters' : 'token ids';
        const message = `${label(index)}: at most ${maxInputChars} ${unit}; got ${text.length}`;
        const limit = { maximum: maxInputChars, given: text.length };
        refused.set(index, new EmbeddingError(EmbeddingErrorCode.InputTooLarge, message, { field, index, limit }));
      }
    });
    return refused;
  }

  /** A model's refusals restated; `indexOf` maps a position in the model's call to the caller's text. */
  private inCallTerms<V>(
    result: EmbedResult<V>,
    call: Pick<EmbedCall<EmbedInput>, 'field' | 'label'>,
    indexOf: (position: number) => number,
  ): EmbedResult<V> {
    const refused = new Map([...result.refused].map(([position, error]) => [position, restate(error, call, indexOf)]));
    return { ...result, refused };
  }

  /** An error about the whole call, restated. */
  private restating(call: Pick<EmbedCall<EmbedInput>, 'field' | 'label'>) {
    return (error: unknown): never => {
      throw error instanceof EmbeddingError ? restate(error, call, (index) => index) : error;
    };
  }
}

const isReady = (model: EmbeddingModel): boolean => {
  try {
    model.info();
    return true;
  } catch {
    return false;
  }
};

/**
 * Callers in plain JavaScript can pass anything: say which input is not a string (or, where `ids`, a list of token
 * ids) rather than failing deep inside a model. The request DTOs check this for HTTP callers already.
 */
function checkTypes(
  { texts, field, label }: { texts: unknown; field: string; label: (index: number) => string },
  ids: boolean,
) {
  const what = ids ? 'a string or an array of token ids' : 'a string';
  if (!Array.isArray(texts)) throw invalidInput(`${field} must be an array of ${ids ? 'inputs' : 'strings'}`, field);
  const index = texts.findIndex((text) => typeof text !== 'string' && !(ids && isTokenIds(text)));
  if (index >= 0) throw invalidInput(`${label(index)} must be ${what}`, field, index);
}

/** Matryoshka: at most the model's own size. */
function checkOptions({ dimensions }: EmbedOptions, model: ModelInfo): void {
  if (dimensions === undefined) return;
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > model.dimensions) {
    const message = `dimensions must be an integer from 1 to ${model.dimensions} for model "${model.id}", got ${dimensions}`;
    throw invalidInput(message, 'dimensions');
  }
}

/**
 * The models name texts `texts[i]` and options in camelCase; callers sent `input[i]`, `prompt_name`. The error keeps
 * its code and limit; its message is written again in the caller's terms, with its field and index mapped.
 */
function restate(
  error: EmbeddingError,
  call: Pick<EmbedCall<EmbedInput>, 'field' | 'label'>,
  indexOf: (position: number) => number,
): EmbeddingError {
  if (error.field === undefined) return error;
  const terms: Terms = {
    text: (position) => call.label(indexOf(position)),
    option: (name) => REQUEST_FIELDS[name] ?? name,
  };
  const field = error.field === 'texts' ? call.field : (REQUEST_FIELDS[error.field] ?? error.field);
  return error.inTermsOf(terms, { field, index: error.index === undefined ? undefined : indexOf(error.index) });
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/** Where a back end cannot count (TEI): about one token per 4 characters, the usual rule of thumb for English. */
export const estimateTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));
