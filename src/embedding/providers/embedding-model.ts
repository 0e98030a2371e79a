import type { EmbeddingStageStats } from '../../metrics/metrics.service';
import { EmbeddingError } from '../embedding.errors';

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
   * limit with truncation off, refused by a server) fails alone while the others are embedded. Each error carries the
   * text's index, and EmbeddingService restates it in the caller's terms (EmbeddingError.inTermsOf).
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

/** Called synchronously after each step of a model's work (metrics); it must be cheap and must not throw. */
export type EmbeddingStageObserver = (stats: EmbeddingStageStats) => void;

/** Anything with Nest Logger's log/warn shape. */
export interface EmbeddingLogger {
  log(message: string): void;
  warn(message: string): void;
}

/**
 * One model this service serves, whatever runs it: ONNX in-process, a TEI server, an OpenAI-compatible API. The
 * factory (embedding-model.factory.ts) builds one object per configured model; EmbeddingService keeps them by name.
 * Failures are EmbeddingErrors. The inputs arrive checked (EmbeddingService checks every input in one place).
 */
export interface EmbeddingModel {
  /** The name this service serves it under; a TEI server that was given none names its own once loaded. */
  readonly id: string;
  /** Loads the model (or finds its server) and runs a warm-up inference; idempotent; rejects when it cannot serve. */
  load(): Promise<void>;
  /** What the model is; ModelNotReady until it is loaded. */
  info(): ModelInfo;
  /**
   * Embeds the inputs in one call and answers per input: the vectors, the inputs refused on their own with the
   * reason, and token counts. Token ids are taken where the back end has a vocabulary to check them against; others
   * refuse them (UnsupportedOperation). A problem with the call as a whole (bad option, back end down) rejects.
   */
  embed(inputs: EmbedInput[], options?: EmbedOptions): Promise<EmbedResult>;
  /** Its state; a model on another server also asks the server, within `signal`. */
  readiness(signal?: AbortSignal): Promise<ModelReadiness>;
  close(): Promise<void>;
}

// Optional capabilities, each its own interface: a model has it or not (hasCapability below), and a caller that needs
// one it lacks answers UnsupportedOperation.

/** How many tokens each text would be, as `embed` counts them, without embedding (what reusing a vector saved). */
export interface TokenCounting {
  countTokens(texts: string[], options?: EmbedOptions): Promise<number[]>;
}

/**
 * The model's hidden state of every token before pooling (TEI's /embed_all), prompt and special tokens included;
 * `normalize` and `dimensions` do not apply.
 */
export interface TokenVectors {
  embedTokens(inputs: EmbedInput[], options?: EmbedOptions): Promise<EmbedResult<Float32Array[]>>;
}

/** The model's tokenizer: each text as it splits it (after the prompt), and id lists back to text. */
export interface Tokenizing {
  tokenize(texts: string[], options?: TokenizeOptions): Promise<TextToken[][]>;
  /** Ids outside the vocabulary are refused (InvalidInput naming the list). */
  decode(ids: TokenIds[], skipSpecialTokens: boolean): Promise<string[]>;
}

interface Capabilities {
  countTokens: TokenCounting;
  embedTokens: TokenVectors;
  tokenize: Tokenizing;
}

/** Whether `model` has the capability whose method is `name`. */
export function hasCapability<K extends keyof Capabilities>(
  model: EmbeddingModel,
  name: K,
): model is EmbeddingModel & Capabilities[K] {
  return typeof (model as unknown as Record<string, unknown>)[name] === 'function';
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
