import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { EmbeddingInputError } from './embedding.errors';
import { EmbeddingProvider, EmbedOptions, ModelInfo } from './providers/embedding-provider';
import { EmptyInputError, InputLimitError, NoModelConfiguredError } from './embedding-request.errors';
import {
  BatchResponseDto,
  EmbedBatchDto,
  EmbeddingResponseDto,
  EmbedSingleDto,
} from './api/native/native-embedding.dto';

/** One embedding request in any route's shape, reduced to texts and options. */
export interface EmbedCall {
  model?: string;
  texts: string[];
  options: EmbedOptions;
  /** The request field holding the texts, for messages: `input`, `inputs`, `chunks`, `text`. */
  field: string;
  /** How messages name text `index`: `input[3]`, `chunks[3].text`, `text`. */
  label: (index: number) => string;
}

export interface EmbedOutcome {
  model: string;
  dimensions: number;
  vectors: Float32Array[];
  /** From the model's tokenizer; about one token per 4 characters when the provider cannot count. */
  promptTokens: number;
}

/**
 * The rules every embedding route shares: which model serves a request, the per-request limits, and provider
 * errors restated in the request's own field names. Failures are domain errors (embedding.errors.ts and
 * embedding-request.errors.ts); each controller's exception filter turns them into its API's error body.
 */
@Injectable()
export class EmbeddingService {
  constructor(
    private readonly provider: EmbeddingProvider,
    private readonly config: AppConfig,
  ) {}

  /** Configured model ids, in configuration order (empty on an API-only instance). */
  servedModels(): string[] {
    const configured = this.config.embedding.models.map((model) => model.id);
    // A TEI back end names its one model itself (EMBEDDING_MODELS may be empty); other providers serve no more.
    return configured.length > 0 ? configured : this.provider.models().map((model) => model.id);
  }

  /** The named model, or the first configured one; unknown: UnknownModelError, not loaded: ModelNotReadyError. */
  resolveModel(name?: string): ModelInfo {
    const served = this.servedModels();
    if (served.length === 0) throw new NoModelConfiguredError();
    return this.provider.describe(name ?? served[0]);
  }

  async embed(call: EmbedCall): Promise<EmbedOutcome> {
    const model = this.resolveModel(call.model);
    this.checkInputs(call);
    const { vectors, tokenCounts } = await this.provider
      .embedWithUsage(model.id, call.texts, call.options)
      .catch((error: unknown) => Promise.reject(inRequestTerms(error, call)));
    const promptTokens = sum(tokenCounts ?? call.texts.map((text) => Math.ceil(text.length / 4)));
    return { model: model.id, dimensions: vectors[0]?.length ?? model.dimensions, vectors, promptTokens };
  }

  async embedSingle(dto: EmbedSingleDto): Promise<EmbeddingResponseDto> {
    const call = { model: dto.model, texts: [dto.text], options: toOptions(dto), field: 'text', label: () => 'text' };
    const { model, dimensions, vectors } = await this.embed(call);
    return { model, dimensions, embedding: Array.from(vectors[0]) };
  }

  /** All chunks go to the provider in one call; it plans the inference batches. */
  async embedBatch(dto: EmbedBatchDto): Promise<BatchResponseDto> {
    assertUniqueIds(dto.chunks.map((chunk) => chunk.id));
    const texts = dto.chunks.map((chunk) => chunk.text);
    const label = (index: number) => `chunks[${index}].text`;
    const { model, dimensions, vectors } = await this.embed({
      model: dto.model,
      texts,
      options: toOptions(dto),
      field: 'chunks',
      label,
    });
    const items = dto.chunks.map(({ id }, index) => ({
      id,
      status: 'embedded' as const,
      embedding: Array.from(vectors[index]),
    }));
    return { model, dimensions, ...(dto.task_id === undefined ? {} : { task_id: dto.task_id }), items };
  }

  private checkInputs({ texts, field, label }: EmbedCall): void {
    const { maxInputs, maxInputChars } = this.config.embedding;
    if (texts.length === 0) throw new EmptyInputError(`${field} must hold at least one text`, field);
    if (texts.length > maxInputs) {
      const message = `${field}: at most ${maxInputs} inputs per request; got ${texts.length}`;
      throw new InputLimitError(message, field, 'inputs', maxInputs, texts.length);
    }
    texts.forEach((text, index) => {
      if (text.length === 0) throw new EmptyInputError(`${label(index)} must not be empty`, field, index);
      if (text.length > maxInputChars) {
        const message = `${label(index)}: at most ${maxInputChars} characters; got ${text.length}`;
        throw new InputLimitError(message, field, 'chars', maxInputChars, text.length, index);
      }
    });
  }
}

/** The request's snake_case options in the provider's terms. */
export function toOptions(dto: {
  normalize?: boolean;
  truncate?: boolean;
  prompt_name?: string;
  prompt?: string;
  dimensions?: number;
}): EmbedOptions {
  return {
    normalize: dto.normalize,
    truncate: dto.truncate,
    promptName: dto.prompt_name,
    prompt: dto.prompt,
    dimensions: dto.dimensions,
  };
}

const PROVIDER_FIELDS: Record<string, string> = { promptName: 'prompt_name' };

/**
 * The provider names texts `texts[i]` and options in camelCase; callers sent `input[i]`, `prompt_name`. The error
 * keeps its class (and so its status and details), with the message and field restated.
 */
function inRequestTerms(error: unknown, call: EmbedCall): unknown {
  if (!(error instanceof EmbeddingInputError)) return error;
  const restated = error as EmbeddingInputError & { field: string };
  restated.message = error.message
    .replace(/\btexts\[(\d+)\]/g, (_, index: string) => call.label(Number(index)))
    .replace(/\bpromptName\b/g, 'prompt_name');
  restated.field = error.field === 'texts' ? call.field : (PROVIDER_FIELDS[error.field] ?? error.field);
  return restated;
}

/** A batch's chunk ids are its answer's keys: each may appear once (400 naming the repeat). */
export function assertUniqueIds(ids: Array<string | number>): void {
  const seen = new Set<string | number>();
  ids.forEach((id, index) => {
    if (seen.has(id)) {
      throw new EmbeddingInputError(`chunks[${index}].id: ${JSON.stringify(id)} is used twice`, 'chunks', index);
    }
    seen.add(id);
  });
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
