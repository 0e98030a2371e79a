import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { parse } from 'dotenv';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { basename, dirname, join, resolve } from 'node:path';
import { AppConfig, ModelSourceConfig } from './app-config';
import { EnvDto, LOG_FORMATS, LOG_LEVELS, LogFormat, LogLevel } from './env.dto';
import { InvalidModelsFileError, readModelsFile } from './models-file';
import { receiverBaseUrl } from './receiver-url';

export class InvalidConfigError extends Error {}

/** Walks up from this file to the folder holding config/defaults.env, so it works from src/ and dist/. */
export function findProjectRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'config', 'defaults.env'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new InvalidConfigError(`config/defaults.env not found above ${from}`);
    dir = parent;
  }
  return dir;
}

export function readDefaults(root = findProjectRoot()): Record<string, string> {
  return parse(readFileSync(join(root, 'config', 'defaults.env')));
}

/** Environment variables over the defaults in config/defaults.env, validated; throws naming every bad variable. */
/**
 * LOG_FORMAT and LOG_LEVEL alone, for the logger of start-up, before (and whether or not) the rest is valid: a value
 * it does not know falls back to the default, and loadConfig reports it.
 */
export function peekLogSettings(env: NodeJS.ProcessEnv = process.env): { format: LogFormat; level: LogLevel } {
  const defaults = { LOG_FORMAT: 'json', LOG_LEVEL: 'log', ...readDefaults() };
  const format = (env.LOG_FORMAT ?? defaults.LOG_FORMAT).trim();
  const level = (env.LOG_LEVEL ?? defaults.LOG_LEVEL).trim();
  return {
    format: (LOG_FORMATS as readonly string[]).includes(format) ? (format as LogFormat) : 'json',
    level: (LOG_LEVELS as readonly string[]).includes(level) ? (level as LogLevel) : 'log',
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const root = findProjectRoot();
  const defaults = readDefaults(root);
  const merged = { ...defaults, ...pickKnown(env, Object.keys(defaults)) };
  const dto = plainToInstance(EnvDto, merged);
  const errors = validateSync(dto, { whitelist: true });
  if (errors.length > 0) {
    // One message per variable, quoting what was given rather than what the conversion made of it.
    const messages = errors.map(
      (error) =>
        `${Object.values(error.constraints ?? {})[0]} (got "${merged[error.property as keyof typeof merged]}")`,
    );
    throw new InvalidConfigError(`Invalid environment variables: ${messages.join('; ')}`);
  }
  assertConsistent(dto);
  const config = toAppConfig(dto);
  config.embedding.modelsFile = loadModelsFile(dto, env);
  assertDistinctModels(config);
  return config;
}

/** EMBEDDING_MODELS_FILE's entries (none when unset), its errors in the configuration's terms. */
function loadModelsFile(dto: EnvDto, env: NodeJS.ProcessEnv) {
  if (!dto.EMBEDDING_MODELS_FILE) return [];
  try {
    return readModelsFile(dto.EMBEDDING_MODELS_FILE, env, dto);
  } catch (error) {
    if (error instanceof InvalidModelsFileError) throw new InvalidConfigError(error.message);
    throw error;
  }
}

/** A model served twice would route ambiguously: EMBEDDING_MODELS and the models file name different models. */
function assertDistinctModels({ embedding }: AppConfig): void {
  const fromEnv = new Set(embedding.models.map((model) => model.id));
  const twice = embedding.modelsFile.filter((entry) => fromEnv.has(entry.id)).map((entry) => entry.id);
  if (twice.length === 0) return;
  throw new InvalidConfigError(
    `Invalid configuration: ${twice.map((id) => `"${id}"`).join(', ')} is both in EMBEDDING_MODELS and in ` +
      'EMBEDDING_MODELS_FILE; name each model once',
  );
}

/** Rules that tie several variables together, checked once each is valid on its own. */
function assertConsistent(env: EnvDto): void {
  if (env.SENDER_MODE === 'remote' && !env.SENDER_REMOTE_URL) {
    throw new InvalidConfigError(
      'Invalid environment variables: SENDER_MODE=remote needs SENDER_REMOTE_URL, the base URL of the instance that ' +
        'embeds and delivers (e.g. http://gpu-node:3000)',
    );
  }
  assertTeiConsistent(env);
}

/** TEI serves one model, named by its /info: EMBEDDING_MODELS may name it (checked at start-up), nothing more. */
function assertTeiConsistent(env: EnvDto): void {
  if (env.EMBEDDING_PROVIDER !== 'tei') return;
  if (!env.TEI_URL) {
    throw new InvalidConfigError(
      'Invalid environment variables: EMBEDDING_PROVIDER=tei needs TEI_URL, the base URL of the ' +
        'text-embeddings-inference server (e.g. http://gpu-node:8080)',
    );
  }
  const models = parseModelList(env.EMBEDDING_MODELS);
  if (models.length > 1 || models.some((model) => model.path)) {
    throw new InvalidConfigError(
      'Invalid environment variables: with EMBEDDING_PROVIDER=tei, EMBEDDING_MODELS is empty or names the one model ' +
        `the TEI server serves (its /info model_id), not a folder; got "${env.EMBEDDING_MODELS}"`,
    );
  }
}

function pickKnown(env: NodeJS.ProcessEnv, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((key) => env[key] !== undefined).map((key) => [key, env[key] as string]));
}

function toAppConfig(env: EnvDto): AppConfig {
  return {
    http: {
      host: env.HOST,
      port: env.PORT,
      bodyLimit: env.HTTP_BODY_LIMIT,
      maxJsonValues: env.HTTP_MAX_JSON_VALUES,
      apiKey: env.API_KEY,
    },
    memory: memoryConfig(env),
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
    database: {
      url: env.DATABASE_URL,
      listenUrl: env.DATABASE_LISTEN_URL,
      poolSize: env.DATABASE_POOL_SIZE,
      runMigrations: env.DATABASE_MIGRATIONS_RUN,
      logging: env.DATABASE_LOGGING,
      startupWaitMs: env.DATABASE_STARTUP_WAIT_MS,
      connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
      embedded: { dataDir: resolve(env.EMBEDDED_PG_DATA_DIR), port: env.EMBEDDED_PG_PORT },
    },
    tasks: {
      maxChunksPerRequest: env.TASK_MAX_CHUNKS_PER_REQUEST,
      maxTextChars: env.TASK_MAX_TEXT_CHARS,
      export: {
        maxConcurrent: env.TASK_EXPORT_MAX_CONCURRENT,
        idleTimeoutMs: env.TASK_EXPORT_IDLE_TIMEOUT_MS,
        maxConnections: env.TASK_EXPORT_MAX_CONNECTIONS,
      },
    },
    health: { timeoutMs: env.HEALTH_CHECK_TIMEOUT_MS },
    embedding: {
      provider: env.EMBEDDING_PROVIDER,
      models: parseModelList(env.EMBEDDING_MODELS),
      modelFile: env.EMBEDDING_MODEL_FILE,
      device: env.EMBEDDING_DEVICE,
      deviceId: env.EMBEDDING_DEVICE_ID,
      cudaFallbackToCpu: env.EMBEDDING_CUDA_FALLBACK_TO_CPU,
      cudaModelFile: env.EMBEDDING_CUDA_MODEL_FILE,
      threads: env.EMBEDDING_THREADS === 0 ? undefined : env.EMBEDDING_THREADS,
      maxBatchTokens: env.EMBEDDING_MAX_BATCH_TOKENS,
      maxBatchSize: env.EMBEDDING_MAX_BATCH_SIZE,
      cacheDir: resolve(env.MODEL_CACHE_DIR),
      offline: env.MODEL_OFFLINE,
      hubUrl: env.MODEL_HUB_URL,
      hubToken: env.HF_TOKEN,
      maxInputs: env.EMBED_MAX_INPUTS,
      maxInputChars: env.EMBED_MAX_INPUT_CHARS,
      modelsFile: [],
      autoTruncate: env.EMBED_AUTO_TRUNCATE,
      tei: {
        url: env.TEI_URL,
        apiKey: env.TEI_API_KEY,
        timeoutMs: env.TEI_TIMEOUT_MS,
        maxConcurrency: env.TEI_MAX_CONCURRENCY,
        batchSize: env.TEI_BATCH_SIZE,
        maxAttempts: env.TEI_MAX_ATTEMPTS,
        retryBaseMs: env.TEI_RETRY_BASE_MS,
        startupWaitMs: env.TEI_STARTUP_WAIT_MS,
      },
    },
    sender: {
      enabled: env.SENDER_ENABLED,
      mode: env.SENDER_MODE,
      remoteUrl: env.SENDER_REMOTE_URL,
      remoteApiKey: env.SENDER_REMOTE_API_KEY,
      remoteTimeoutMs: env.SENDER_REMOTE_TIMEOUT_MS,
      batchSize: env.SENDER_BATCH_SIZE,
      concurrency: env.SENDER_CONCURRENCY,
      pollIntervalMs: env.SENDER_POLL_INTERVAL_MS,
      listen: env.SENDER_LISTEN_ENABLED,
      leaseSeconds: env.SENDER_LEASE_SECONDS,
      maxAttempts: env.SENDER_MAX_ATTEMPTS,
      retryBaseMs: env.SENDER_RETRY_BASE_MS,
      shutdownGraceMs: env.SENDER_SHUTDOWN_GRACE_MS,
      reuseEmbeddings: env.SENDER_REUSE_EMBEDDINGS,
      breakerFailures: env.SENDER_BREAKER_FAILURES,
      breakerProbeMs: env.SENDER_BREAKER_PROBE_MS,
      workerId: env.WORKER_ID ?? `${hostname()}-${process.pid}`,
      heartbeatIntervalMs: env.WORKER_HEARTBEAT_INTERVAL_MS,
    },
    receiver: {
      enabled: env.RECEIVER_ENABLED,
      // The base URL or the full endpoint: delivery and readiness add the path themselves.
      url: env.RECEIVER_URL ? receiverBaseUrl(env.RECEIVER_URL) : undefined,
      apiKey: env.RECEIVER_API_KEY,
      timeoutMs: env.RECEIVER_TIMEOUT_MS,
      maxRetries: env.RECEIVER_MAX_RETRIES,
    },
    search: {
      mode: env.SEARCH_MODE,
      timeoutMs: env.SEARCH_TIMEOUT_MS,
      indexIntervalMs: env.SEARCH_INDEX_INTERVAL_MS,
      efSearch: env.SEARCH_HNSW_EF_SEARCH,
      exactCacheBytes: parseSize(env.SEARCH_EXACT_CACHE_SIZE),
    },
  };
}

/**
 * The answer limits. HTTP_MEMORY_BUDGET defaults to half of V8's heap limit (which --max-old-space-size sets): the
 * other half stays for the request bodies, the models' buffers and the rest of the service.
 */
function memoryConfig(env: EnvDto): AppConfig['memory'] {
  const budget = env.HTTP_MEMORY_BUDGET ? parseSize(env.HTTP_MEMORY_BUDGET) : 0;
  return {
    responseLimitBytes: parseSize(env.HTTP_RESPONSE_LIMIT),
    budgetBytes: budget > 0 ? budget : Math.floor(getHeapStatistics().heap_size_limit / 2),
  };
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `64mb` as bytes (units of 1024, as body-parser reads HTTP_BODY_LIMIT); the DTO has checked the form. */
export function parseSize(size: string): number {
  const [, count, unit] = /^(\d+)([a-z]*)$/i.exec(size)!;
  return Number(count) * SIZE_UNITS[unit.toLowerCase() || 'b'];
}

/**
 * EMBEDDING_MODELS entries: `owner/name[@revision]` (hub), or a local folder (`/…`, `./…`, `../…`), optionally
 * named `name=folder`; a local folder's id defaults to its folder name.
 */
export function parseModelList(list: string): ModelSourceConfig[] {
  const entries = list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  return entries.map(parseModelEntry);
}

function parseModelEntry(entry: string): ModelSourceConfig {
  const [name, source] = entry.includes('=') ? entry.split('=', 2) : [undefined, entry];
  if (/^(\/|\.{1,2}\/)/.test(source)) return { id: name ?? basename(source), path: resolve(source) };
  const [hubId, revision] = source.split('@', 2);
  if (!/^[\w-][\w.-]*\/[\w-][\w.-]*$/.test(hubId)) {
    throw new InvalidConfigError(
      `Invalid environment variables: EMBEDDING_MODELS entry "${entry}" is neither owner/name[@revision] nor a folder (/… or ./…)`,
    );
  }
  return { id: name ?? hubId, hubId, revision };
}
