export type PoolingMode = 'mean' | 'cls' | 'lasttoken' | 'sentence_embedding';
export type ExecutionDevice = 'cpu' | 'cuda';
/** Where a model runs: here on CPU or CUDA, or on another server (TEI). */
export type ModelDevice = ExecutionDevice | 'remote';

export interface EmbedOptions {
  /** L2-normalise each vector. Default: whether the model lists a sentence-transformers Normalize module. */
  normalize?: boolean;
  /** Cut texts longer than the model's limit (default true); when false such a text is an EmbeddingInputError. */
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

export interface EmbedResult {
  /** One vector per text, in input order. */
  vectors: Float32Array[];
  /**
   * How many tokens each text became as the model saw it (prompt and special tokens included, after truncation);
   * null when the provider cannot tell.
   */
  tokenCounts: number[] | null;
}

/**
 * What one step of embedding cost, for metrics: tokenising the texts of one embed call, or one inference batch
 * (`paddedTokens`: batch size x its longest text, what the model computed). Warm-up runs are not reported.
 */
export type EmbeddingStageStats =
  | { stage: 'tokenize'; model: string; texts: number; seconds: number }
  | { stage: 'inference'; model: string; texts: number; paddedTokens: number; seconds: number };

/** Called synchronously after each step; it must be cheap and must not throw. */
export type EmbeddingStageObserver = (stats: EmbeddingStageStats) => void;

/** Anything with Nest Logger's log/warn shape. */
export interface EmbeddingLogger {
  log(message: string): void;
  warn(message: string): void;
}

/**
 * Turns texts into vectors. Abstract so it can serve as the Nest DI token; OnnxEmbeddingProvider implements it.
 * Failures use the classes in embedding.errors.ts so HTTP layers can map them to status codes.
 */
export abstract class EmbeddingProvider {
  /** Loads every configured model and runs a warm-up inference; rejects if any model fails. */
  abstract init(): Promise<void>;
  abstract close(): Promise<void>;
  /** One vector per text, in input order. */
  abstract embed(model: string, texts: string[], options?: EmbedOptions): Promise<Float32Array[]>;
  /** Like embed, with each text's token count; this default reports none, providers that tokenise override it. */
  async embedWithUsage(model: string, texts: string[], options?: EmbedOptions): Promise<EmbedResult> {
    return { vectors: await this.embed(model, texts, options), tokenCounts: null };
  }
  abstract describe(model: string): ModelInfo;
  abstract models(): ModelInfo[];
  abstract readiness(): EmbeddingReadiness;

  /**
   * Readiness for the health check, which may ask a remote back end (within `signal`'s time); this default answers
   * what readiness() knows, providers with a server behind them override it.
   */
  async checkReadiness(_signal?: AbortSignal): Promise<EmbeddingReadiness> {
    return this.readiness();
  }

  isReady(): boolean {
    return this.readiness().ready;
  }
}
