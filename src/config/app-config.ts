import { EmbeddingDevice, EmbeddingProviderKind, LogFormat, LogLevel, SenderMode } from './env.dto';

/** One model to serve: a hub repository downloaded into the cache, or a local folder. */
export interface ModelSourceConfig {
  id: string;
  hubId?: string;
  revision?: string;
  path?: string;
}

/**
 * The service's typed configuration, read once at start-up (see config.loader.ts).
 * The class doubles as the injection token, so tests can hand a module their own values.
 */
export class AppConfig {
  http: {
    host: string;
    port: number;
    bodyLimit: string;
    apiKey?: string;
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
    embedded: { dataDir: string; port: number };
  };
  tasks: {
    maxChunksPerRequest: number;
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
    maxInputs: number;
    maxInputChars: number;
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
    workerId: string;
  };
  receiver: {
    enabled: boolean;
    /** Unset: deliver in-process to the built-in receiver. */
    url?: string;
    apiKey?: string;
    timeoutMs: number;
    maxRetries: number;
  };
}
