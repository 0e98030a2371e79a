import type { EmbeddingStageStats } from '../../metrics/metrics.service';
import { EmbeddingError, invalidInput, unsupportedOperation } from '../embedding.errors';

export type PoolingMode = 'mean' | 'cls' | 'lasttoken' | 'sentence_embedding';
export type ExecutionDevice = 'cpu' | 'cuda';
/** Where a model runs: here on CPU or CUDA, or on another server (TEI). */
export type ModelDevice = ExecutionDevice | 'remote';

/** Ids of the model's vocabulary: what OpenAI's and TEI's token-array inputs carry. */
export type TokenIds = number[];
/** One input of a request: a text, or token ids used as given (special tokens included, none added). */
export type EmbedInput = string | TokenIds;

export const isText = (input: EmbedInput): input is string => typeof input === 'string';

export interface EmbedOptions {
  /** L2-normalise each vector. Default: whether the model lists a sentence-transformers Normalize module. */
  normalize?: boolean;
  /** Cut texts longer than the model's limit (default true); when false such a text is refused
   * (TooManyTokens). */
  truncate?: boolean;
  /** Name of a prompt from config_sentence_transformers.json, prefixed to every text. */
  promptName?: string;
  /** A literal prefix for every text; '' disables the model's default prompt. */
  prompt?: string;
  /** Matryoshka: keep the first `dimensions` values (re-normalised when normalising). */
  dimensions?: number;
  /**
   * Bulk work (the sender's batches): an in-process model runs such calls whole, one after the other, taking turns
   * with requests. Providers that spread calls over a server ignore it.
   */
  background?: boolean;
}

export interface ModelInfo {
  id: string;
  dimensions: number;
  /** The longest input in tokens, special tokens included; longer texts are truncated or rejected. */
  maxTokens: number;
  pooling: PoolingMode;
  normalize: boolean;
  prompts: Record<string, string>;
  defaultPromptName: string | null;
  device: ModelDevice;
  /**
   * The precision the model computes in: `float32`, `float16`, `bfloat16`, or `int8` / `uint8` for a quantised graph
   * (its weights' type), as the ONNX graph shows it; a TEI server's own `model_dtype`; `unknown` where the back end
   * does not say (an OpenAI-compatible API).
   */
  dtype: string;
}

export interface ModelReadiness {
  id: string;
  loaded: boolean;
  warmedUp: boolean;
  device?: ModelDevice;
  error?: string;
}

export interface EmbeddingReadiness {
  ready: boolean;
  models: ModelReadiness[];
}

/** `V` is one input's answer: its vector, or (embedTokens) one vector per token. */
export interface EmbedResult<V = Float32Array> {
  /** One entry per text, in input order: its vector, or undefined when the text was refused. */
  vectors: Array<V | undefined>;
  /**
   * Why each refused text was refused, by its index: a text that cannot be embedded on its own (over the token
   * limit with truncation off, refused by a server) fails alone while the others are embedded. Each error's message
   * names the text as `texts[i]`.
   */
  refused: Map<number, EmbeddingError>;
  /**
   * How many tokens each text became as the model saw it (prompt and special tokens included, after truncation);
   * null when the provider cannot tell.
   */
  tokenCounts: number[] | null;
}

export interface TokenizeOptions {
  /** Add the model's special tokens ([CLS], [SEP]); default true. */
  addSpecialTokens?: boolean;
  /** As in EmbedOptions: the model's default prompt applies when neither is given. */
  promptName?: string;
  prompt?: string;
}

/** One token of a tokenised text (TEI's SimpleToken). */
export interface TextToken {
  id: number;
  /** A special token's own text ([CLS]); else the part of the prompted text it covers. */
  text: string;
  special: boolean;
  /** UTF-8 byte offsets into the prompted text, as TEI reports them; null for special tokens. */
  start: number | null;
  stop: number | null;
}

/** Called synchronously after each step; it must be cheap and must not throw. */
export type EmbeddingStageObserver = (stats: EmbeddingStageStats) => void;

/** Anything with Nest Logger's log/warn shape. */
export interface EmbeddingLogger {
  log(message: string): void;
  warn(message: string): void;
}

/**
 * A back end that turns texts into vectors: ONNX in-process, a TEI server. Abstract so it serves as the Nest
 * injection token; embedding-provider.factory.ts builds the configured one. Failures are EmbeddingErrors.
 */
export abstract class EmbeddingProvider {
  /** Loads every configured model (or finds the server's) and runs a warm-up inference; rejects if any fails. */
  abstract init(): Promise<void>;
  abstract close(): Promise<void>;
  /**
   * Embeds the texts in one call and answers per text: the vectors, the texts refused on their own with the reason,
   * and token counts. A problem with the call as a whole (unknown model, bad option, back end down) rejects.
   */
  abstract embed(model: string, texts: string[], options?: EmbedOptions): Promise<EmbedResult>;
  /**
   * How many tokens each text would be for the model, as `embed` counts them, without embedding: for tokens that
   * reusing a stored vector saved. Null when the provider cannot tell (callers then estimate).
   */
  async countTokens(model: string, texts: string[], options?: EmbedOptions): Promise<number[] | null> {
    void [model, texts, options];
    return null;
  }
  abstract describe(model: string): ModelInfo;
  /** The models ready to serve. */
  abstract models(): ModelInfo[];
  /** Every configured model's state; a provider with a server behind it also asks the server, within `signal`. */
  abstract readiness(signal?: AbortSignal): Promise<EmbeddingReadiness>;

  // Optional capabilities, for the TEI and OpenAI dialects. A back end that lacks one keeps the default, which
  // rejects with UnsupportedOperation (or, for embedInputs, accepts texts only).

  /** embed, for inputs that may also be token ids; a back end checks them against its vocabulary. */
  async embedInputs(model: string, inputs: EmbedInput[], options?: EmbedOptions): Promise<EmbedResult> {
    if (inputs.every(isText)) return this.embed(model, inputs, options);
    throw unsupportedOperation(model, 'token ids as input');
  }

  /**
   * The model's hidden state of every token before pooling (TEI's /embed_all), prompt and special tokens included;
   * `normalize` and `dimensions` do not apply.
   */
  async embedTokens(
    model: string,
    _inputs: EmbedInput[],
    _options?: EmbedOptions,
  ): Promise<EmbedResult<Float32Array[]>> {
    throw unsupportedOperation(model, 'token-level vectors');
  }

  /** Each text as the model's tokenizer splits it, after the prompt. */
  async tokenize(model: string, _texts: string[], _options?: TokenizeOptions): Promise<TextToken[][]> {
    throw unsupportedOperation(model, 'tokenizing');
  }

  /** Each id list back to text; ids outside the vocabulary are refused (InvalidInput naming `ids[i]`). */
  async decode(model: string, _ids: TokenIds[], _skipSpecialTokens: boolean): Promise<string[]> {
    throw unsupportedOperation(model, 'decoding token ids');
  }
}

/** The refusal of the first text refused, if any. */
export function firstRefusal(refused: Map<number, EmbeddingError>): EmbeddingError | undefined {
  return refused.size === 0 ? undefined : refused.get(Math.min(...refused.keys()));
}

/** The vectors of a call that refused nothing, for callers that need every text; else the first refusal throws. */
export function allEmbedded<V>(result: EmbedResult<V>): V[] {
  const refused = firstRefusal(result.refused);
  if (refused) throw refused;
  return result.vectors as V[];
}

/** Token ids are integers from 0 to 2^32 - 1 (TEI's u32); the vocabulary is checked by the back end. */
export const isTokenIds = (value: unknown): value is TokenIds =>
  Array.isArray(value) && value.every((id) => Number.isInteger(id) && id >= 0 && id <= 0xffffffff);

/** assertTexts for inputs that may be token ids. */
export function assertInputs(inputs: unknown): asserts inputs is EmbedInput[] {
  if (!Array.isArray(inputs)) {
    throw invalidInput('texts must be an array of strings or token id arrays', 'texts');
  }
  const index = inputs.findIndex((input) => typeof input !== 'string' && !isTokenIds(input));
  if (index >= 0) {
    throw invalidInput(`texts[${index}] must be a string or an array of token ids`, 'texts', index);
  }
}

/** Callers in plain JavaScript can pass anything: say which text is not a string rather than failing deep inside. */
export function assertTexts(texts: unknown): asserts texts is string[] {
  if (!Array.isArray(texts)) {
    throw invalidInput('texts must be an array of strings', 'texts');
  }
  const index = texts.findIndex((text) => typeof text !== 'string');
  if (index >= 0) {
    throw invalidInput(`texts[${index}] must be a string`, 'texts', index);
  }
}
