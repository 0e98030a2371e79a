import { EmbeddingDevice, EmbeddingProviderKind, LogFormat, LogLevel, SearchMode, SenderMode } from './env.dto';

/** One model to serve: a hub repository downloaded into the cache, or a local folder. */
export interface ModelSourceConfig {
  id: string;
  hubId?: string;
  revision?: string;
  path?: string;
}

/** Rate limits of a remote model, enforced by the client before it sends (each unset limit: none). */
export interface RateBudgetConfig {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** Requests in flight at once. */
  concurrency: number;
}

/** What every entry of EMBEDDING_MODELS_FILE has, whatever serves it. */
interface ModelEntryBase {
  /** The name tasks and requests use. */
  id: string;
  /** Cost of a million tokens in any currency, for cost per task; unset: no cost is computed. */
  pricePerMillionTokens?: number;
}

/** A model run in-process by onnxruntime. */
export interface OnnxModelEntry extends ModelEntryBase {
  backend: 'onnx';
  source: ModelSourceConfig;
  /** The ONNX file variant, e.g. onnx/model_quantized.onnx. */
  modelFile: string;
  device: EmbeddingDevice;
  deviceId: number;
}

/** Settings every model behind an HTTP server shares. */
interface RemoteModelEntry extends ModelEntryBase {
  url: string;
  apiKey?: string;
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  startupWaitMs: number;
}

/** A model served by a text-embeddings-inference server. */
export interface TeiModelEntry extends RemoteModelEntry {
  backend: 'tei';
  /** TEI's model_id, checked at start-up when set. */
  model?: string;
}

/** A model behind an OpenAI-compatible /embeddings endpoint. */
export interface OpenAiModelEntry extends RemoteModelEntry {
  backend: 'openai';
  /** The remote's name of the model. */
  model: string;
  /** Vector size asked of the remote on every request (OpenAI's `dimensions`); unset: the model's own. */
  dimensions?: number;
  /** Whether the remote takes `dimensions`; when not, a request for fewer dimensions is refused here. */
  supportsDimensions: boolean;
  /** Most inputs per request. */
  maxInputs: number;
  /** Most tokens (all inputs together) per request. */
  maxRequestTokens: number;
  /** The model's longest input, in tokens (for ModelInfo; the remote decides what a longer one gets). */
  maxInputTokens: number;
  /** A tokenizer.json (or a folder holding one) of the remote's tokenizer, to count tokens before sending. */
  tokenizer?: string;
  budget: RateBudgetConfig;
}

export type ModelEntryConfig = OnnxModelEntry | TeiModelEntry | OpenAiModelEntry;
export type ModelBackend = ModelEntryConfig['backend'];

/**
 * The service's typed configuration, read once at start-up (see config.loader.ts).
 * The class doubles as the injection token, so tests can hand a module their own values.
 */
export class AppConfig {
  http: {
    host: string;
    port: number;
    bodyLimit: string;
    maxJsonValues: number;
    apiKey?: string;
  };
  /** Memory each request and the process as a whole may spend on answers (see memory-budget.ts). */
  memory: {
    /** HTTP_RESPONSE_LIMIT: the largest answer (its estimated JSON size) an embedding route builds. */
    responseLimitBytes: number;
    /** HTTP_MEMORY_BUDGET: the estimated answer bytes of every request in flight together. */
    budgetBytes: number;
  };
  logLevel: LogLevel;
  logFormat: LogFormat;
  database: {
    /** Unset until main.ts has started the embedded server. */
    url?: string;
    /** The LISTEN connection of senders; unset: url. */
    listenUrl?: string;
    poolSize: number;
    runMigrations: boolean;
    logging: boolean;
    /** How long start-up waits for the server at url (not the embedded one) to answer. */
    startupWaitMs: number;
    /** How long a query waits for a connection before it fails (503); 0: no limit. */
    connectTimeoutMs: number;
    embedded: { dataDir: string; port: number };
  };
  tasks: {
    maxChunksPerRequest: number;
    /** Most characters (UTF-16 code units) in one chunk text of a task request. */
    maxTextChars: number;
    /** GET /tasks/:id/embeddings (docs/exports.md, "Exports and the pool budget"). */
    export: {
      /** Exports streaming at once; one more is answered 429. */
      maxConcurrent: number;
      /** A client that has read nothing for this long has its export ended. */
      idleTimeoutMs: number;
      /** Pooled connections all exports together use at once, each for one page read. */
      maxConnections: number;
    };
  };
  health: {
    timeoutMs: number;
  };
  embedding: {
    provider: EmbeddingProviderKind;
    models: ModelSourceConfig[];
    modelFile: string;
    device: EmbeddingDevice;
    deviceId: number;
    cudaFallbackToCpu: boolean;
    /** The file a model loads on CUDA (model_fp16.onnx, say); undefined: modelFile. */
    cudaModelFile?: string;
    /** Undefined: every core. */
    threads?: number;
    maxBatchTokens: number;
    maxBatchSize: number;
    cacheDir: string;
    offline: boolean;
    /** The Hugging Face hub (or a mirror speaking its API) that hub models are downloaded from. */
    hubUrl: string;
    /** HF_TOKEN: sent to hubUrl only (private and gated repositories). */
    hubToken?: string;
    maxInputs: number;
    maxInputChars: number;
    /**
     * EMBEDDING_MODELS_FILE: more models, each from its own back end, served beside EMBEDDING_MODELS (empty when
     * the variable is unset).
     */
    modelsFile: ModelEntryConfig[];
    /** Default of `truncate` on the TEI-compatible routes (TEI's --auto-truncate). */
    autoTruncate: boolean;
    /** EMBEDDING_PROVIDER=tei: the text-embeddings-inference server (url set whenever the provider is tei). */
    tei: {
      url?: string;
      apiKey?: string;
      timeoutMs: number;
      /** 0: derived from TEI's /info. */
      maxConcurrency: number;
      /** 0: TEI's max_client_batch_size. */
      batchSize: number;
      maxAttempts: number;
      retryBaseMs: number;
      startupWaitMs: number;
    };
  };
  sender: {
    enabled: boolean;
    mode: SenderMode;
    /** Set whenever mode is remote (checked at start-up). */
    remoteUrl?: string;
    remoteApiKey?: string;
    remoteTimeoutMs: number;
    batchSize: number;
    concurrency: number;
    pollIntervalMs: number;
    /** Wake on NOTIFY (false: polling alone). */
    listen: boolean;
    leaseSeconds: number;
    maxAttempts: number;
    retryBaseMs: number;
    shutdownGraceMs: number;
    reuseEmbeddings: boolean;
    /** Consecutive transient failures of a dependency that pause claims for it (its circuit breaker opens). */
    breakerFailures: number;
    /** While a breaker is open, one trial batch this often. */
    breakerProbeMs: number;
    workerId: string;
    /** How often the worker's row in mgmt.worker is written again; it expires after three missed beats. */
    heartbeatIntervalMs: number;
  };
  receiver: {
    enabled: boolean;
    /** Unset: deliver in-process to the built-in receiver. */
    url?: string;
    apiKey?: string;
    timeoutMs: number;
    maxRetries: number;
  };
  search: {
    /** auto: pgvector's index where the extension is (or can be) installed, else exact; exact; pgvector: required. */
    mode: SearchMode;
    /** Time limit of one search's statements. */
    timeoutMs: number;
    /** How often a pgvector instance looks for models whose vectors have no index yet; 0: never (CLI only). */
    indexIntervalMs: number;
    /** pgvector's hnsw.ef_search (raised to k when k is larger). */
    efSearch: number;
    /** Bytes of stored vectors the exact search keeps in memory between searches (0: none). */
    exactCacheBytes: number;
  };
}

/** Every model this configuration serves, in order: EMBEDDING_MODELS, then the models file. */
export function configuredModelIds({ embedding }: AppConfig): string[] {
  return [...embedding.models, ...(embedding.modelsFile ?? [])].map((model) => model.id);
}

/** The price of a million tokens of a model, from the models file; undefined when none is set. */
export function pricePerMillionTokens({ embedding }: AppConfig, model: string): number | undefined {
  return embedding.modelsFile?.find((entry) => entry.id === model)?.pricePerMillionTokens;
}
