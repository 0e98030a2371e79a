import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

export const EMBEDDING_PROVIDERS = ['onnx', 'tei'] as const;
export type EmbeddingProviderKind = (typeof EMBEDDING_PROVIDERS)[number];
export const EMBEDDING_DEVICES = ['cpu', 'cuda'] as const;
export type EmbeddingDevice = (typeof EMBEDDING_DEVICES)[number];
/** Empty, or comma-separated entries without spaces inside (see config/defaults.env). */
const MODEL_LIST = /^(\s*[^,\s]+\s*(,\s*[^,\s]+\s*)*)?$/;

export const SENDER_MODES = ['local', 'remote'] as const;
export type SenderMode = (typeof SENDER_MODES)[number];

export const SEARCH_MODES = ['auto', 'exact', 'pgvector'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** An integer variable in [min, max]; the message names the variable and the range it accepts. */
function IntRange(name: string, min: number, max = Number.MAX_SAFE_INTEGER): PropertyDecorator {
  const message =
    max === Number.MAX_SAFE_INTEGER
      ? `${name} must be an integer >= ${min}`
      : `${name} must be an integer between ${min} and ${max}`;
  return applyDecorators(
    Transform(({ value }) => (value === undefined ? undefined : Number(value))),
    IsInt({ message }),
    Min(min, { message }),
    Max(max, { message }),
  );
}

function Bool(name: string): PropertyDecorator {
  const parse = ({ value }: { value: unknown }) =>
    ({ true: true, '1': true, false: false, '0': false })[String(value)] ?? value;
  return applyDecorators(Transform(parse), IsBoolean({ message: `${name} must be true or false` }));
}

/** Empty strings mean "unset", so `API_KEY=` in a file does not enable an empty key. */
function OptionalString(): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value)),
    IsOptional(),
    IsString(),
  );
}

/** Every environment variable the service reads, with what it accepts. Defaults live in config/defaults.env. */
export class EnvDto {
  @IntRange('PORT', 1, 65535)
  PORT: number;

  @IsString()
  HOST: string;

  @Matches(/^\d+(b|kb|mb|gb)?$/i, { message: 'HTTP_BODY_LIMIT must be a byte count or a size such as 50mb' })
  HTTP_BODY_LIMIT: string;

  @IntRange('HTTP_MAX_JSON_VALUES', 1)
  HTTP_MAX_JSON_VALUES: number;

  @OptionalString()
  API_KEY?: string;

  @IsIn(LOG_LEVELS, { message: `LOG_LEVEL must be one of: ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevel;

  @IsIn(LOG_FORMATS, { message: `LOG_FORMAT must be one of: ${LOG_FORMATS.join(', ')}` })
  LOG_FORMAT: LogFormat;

  @OptionalString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  @OptionalString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_LISTEN_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_LISTEN_URL?: string;

  @IntRange('DATABASE_POOL_SIZE', 1, 1000)
  DATABASE_POOL_SIZE: number;

  @Bool('DATABASE_MIGRATIONS_RUN')
  DATABASE_MIGRATIONS_RUN: boolean;

  @Bool('DATABASE_LOGGING')
  DATABASE_LOGGING: boolean;

  @IntRange('DATABASE_STARTUP_WAIT_MS', 0)
  DATABASE_STARTUP_WAIT_MS: number;

  @IntRange('DATABASE_CONNECT_TIMEOUT_MS', 0)
  DATABASE_CONNECT_TIMEOUT_MS: number;

  @IsString()
  EMBEDDED_PG_DATA_DIR: string;

  @IntRange('EMBEDDED_PG_PORT', 1, 65535)
  EMBEDDED_PG_PORT: number;

  @IntRange('TASK_MAX_CHUNKS_PER_REQUEST', 1)
  TASK_MAX_CHUNKS_PER_REQUEST: number;

  @IntRange('TASK_MAX_TEXT_CHARS', 1)
  TASK_MAX_TEXT_CHARS: number;

  @IntRange('TASK_EXPORT_MAX_CONCURRENT', 1, 10000)
  TASK_EXPORT_MAX_CONCURRENT: number;

  @IntRange('TASK_EXPORT_IDLE_TIMEOUT_MS', 1000, 3600000)
  TASK_EXPORT_IDLE_TIMEOUT_MS: number;

  @IntRange('TASK_EXPORT_MAX_CONNECTIONS', 1, 1000)
  TASK_EXPORT_MAX_CONNECTIONS: number;

  @IntRange('HEALTH_CHECK_TIMEOUT_MS', 100, 60000)
  HEALTH_CHECK_TIMEOUT_MS: number;

  @IsIn(EMBEDDING_PROVIDERS, { message: `EMBEDDING_PROVIDER must be one of: ${EMBEDDING_PROVIDERS.join(', ')}` })
  EMBEDDING_PROVIDER: EmbeddingProviderKind;

  @Matches(MODEL_LIST, {
    message: 'EMBEDDING_MODELS must be a comma-separated list of owner/name[@revision] or [name=]/local/folder',
  })
  EMBEDDING_MODELS: string;

  @OptionalString()
  EMBEDDING_MODELS_FILE?: string;

  @Matches(/^[\w./-]+\.onnx$/, { message: 'EMBEDDING_MODEL_FILE must name an .onnx file' })
  EMBEDDING_MODEL_FILE: string;

  @IsIn(EMBEDDING_DEVICES, { message: `EMBEDDING_DEVICE must be one of: ${EMBEDDING_DEVICES.join(', ')}` })
  EMBEDDING_DEVICE: EmbeddingDevice;

  @IntRange('EMBEDDING_DEVICE_ID', 0, 64)
  EMBEDDING_DEVICE_ID: number;

  @Bool('EMBEDDING_CUDA_FALLBACK_TO_CPU')
  EMBEDDING_CUDA_FALLBACK_TO_CPU: boolean;

  @OptionalString()
  @Matches(/^[\w./-]+\.onnx$/, { message: 'EMBEDDING_CUDA_MODEL_FILE must name an .onnx file, or be empty' })
  EMBEDDING_CUDA_MODEL_FILE?: string;

  @IntRange('EMBEDDING_THREADS', 0, 1024)
  EMBEDDING_THREADS: number;

  @IntRange('EMBEDDING_MAX_BATCH_TOKENS', 1)
  EMBEDDING_MAX_BATCH_TOKENS: number;

  @IntRange('EMBEDDING_MAX_BATCH_SIZE', 1)
  EMBEDDING_MAX_BATCH_SIZE: number;

  @IsString()
  MODEL_CACHE_DIR: string;

  @Bool('MODEL_OFFLINE')
  MODEL_OFFLINE: boolean;

  @Matches(/^https?:\/\/[^/]+(\/[^?#]*[^/?#])?$/, {
    message: 'MODEL_HUB_URL must be an http:// or https:// URL without a trailing slash',
  })
  MODEL_HUB_URL: string;

  @OptionalString()
  HF_TOKEN?: string;

  @IntRange('EMBED_MAX_INPUTS', 1)
  EMBED_MAX_INPUTS: number;

  @IntRange('EMBED_MAX_INPUT_CHARS', 1)
  EMBED_MAX_INPUT_CHARS: number;

  @Bool('EMBED_AUTO_TRUNCATE')
  EMBED_AUTO_TRUNCATE: boolean;

  @OptionalString()
  @Matches(/^https?:\/\//, { message: 'TEI_URL must be an http:// or https:// URL' })
  TEI_URL?: string;

  @OptionalString()
  TEI_API_KEY?: string;

  @IntRange('TEI_TIMEOUT_MS', 1)
  TEI_TIMEOUT_MS: number;

  @IntRange('TEI_MAX_CONCURRENCY', 0, 4096)
  TEI_MAX_CONCURRENCY: number;

  @IntRange('TEI_BATCH_SIZE', 0, 100000)
  TEI_BATCH_SIZE: number;

  @IntRange('TEI_MAX_ATTEMPTS', 1, 100)
  TEI_MAX_ATTEMPTS: number;

  @IntRange('TEI_RETRY_BASE_MS', 0)
  TEI_RETRY_BASE_MS: number;

  @IntRange('TEI_STARTUP_WAIT_MS', 0)
  TEI_STARTUP_WAIT_MS: number;

  @Bool('SENDER_ENABLED')
  SENDER_ENABLED: boolean;

  @IsIn(SENDER_MODES, { message: `SENDER_MODE must be one of: ${SENDER_MODES.join(', ')}` })
  SENDER_MODE: SenderMode;

  @OptionalString()
  @Matches(/^https?:\/\//, { message: 'SENDER_REMOTE_URL must be an http:// or https:// URL' })
  SENDER_REMOTE_URL?: string;

  @OptionalString()
  SENDER_REMOTE_API_KEY?: string;

  @IntRange('SENDER_REMOTE_TIMEOUT_MS', 1)
  SENDER_REMOTE_TIMEOUT_MS: number;

  @IntRange('SENDER_BATCH_SIZE', 1, 10000)
  SENDER_BATCH_SIZE: number;

  @IntRange('SENDER_CONCURRENCY', 1, 256)
  SENDER_CONCURRENCY: number;

  @IntRange('SENDER_POLL_INTERVAL_MS', 10)
  SENDER_POLL_INTERVAL_MS: number;

  @Bool('SENDER_LISTEN_ENABLED')
  SENDER_LISTEN_ENABLED: boolean;

  @IntRange('SENDER_LEASE_SECONDS', 1)
  SENDER_LEASE_SECONDS: number;

  @IntRange('SENDER_MAX_ATTEMPTS', 1, 1000)
  SENDER_MAX_ATTEMPTS: number;

  @IntRange('SENDER_RETRY_BASE_MS', 0)
  SENDER_RETRY_BASE_MS: number;

  @IntRange('SENDER_SHUTDOWN_GRACE_MS', 0)
  SENDER_SHUTDOWN_GRACE_MS: number;

  @Bool('SENDER_REUSE_EMBEDDINGS')
  SENDER_REUSE_EMBEDDINGS: boolean;

  @IntRange('SENDER_BREAKER_FAILURES', 1, 1000)
  SENDER_BREAKER_FAILURES: number;

  @IntRange('SENDER_BREAKER_PROBE_MS', 10)
  SENDER_BREAKER_PROBE_MS: number;

  @OptionalString()
  WORKER_ID?: string;

  @IntRange('WORKER_HEARTBEAT_INTERVAL_MS', 100)
  WORKER_HEARTBEAT_INTERVAL_MS: number;

  @Bool('RECEIVER_ENABLED')
  RECEIVER_ENABLED: boolean;

  @OptionalString()
  @Matches(/^https?:\/\//, { message: 'RECEIVER_URL must be an http:// or https:// URL' })
  RECEIVER_URL?: string;

  @OptionalString()
  RECEIVER_API_KEY?: string;

  @IntRange('RECEIVER_TIMEOUT_MS', 1)
  RECEIVER_TIMEOUT_MS: number;

  @IntRange('RECEIVER_MAX_RETRIES', 0, 100)
  RECEIVER_MAX_RETRIES: number;

  @IsIn(SEARCH_MODES, { message: `SEARCH_MODE must be one of: ${SEARCH_MODES.join(', ')}` })
  SEARCH_MODE: SearchMode;

  @IntRange('SEARCH_TIMEOUT_MS', 100)
  SEARCH_TIMEOUT_MS: number;

  @IntRange('SEARCH_INDEX_INTERVAL_MS', 0)
  SEARCH_INDEX_INTERVAL_MS: number;

  @IntRange('SEARCH_HNSW_EF_SEARCH', 1, 1000)
  SEARCH_HNSW_EF_SEARCH: number;

  @Matches(/^\d+(b|kb|mb|gb)?$/i, { message: 'SEARCH_EXACT_CACHE_SIZE must be a byte count or a size such as 256mb' })
  SEARCH_EXACT_CACHE_SIZE: string;

  @Matches(/^\d+(b|kb|mb|gb)?$/i, { message: 'HTTP_RESPONSE_LIMIT must be a byte count or a size such as 64mb' })
  HTTP_RESPONSE_LIMIT: string;

  @OptionalString()
  @Matches(/^\d+(b|kb|mb|gb)?$/i, { message: 'HTTP_MEMORY_BUDGET must be a byte count or a size such as 1gb' })
  HTTP_MEMORY_BUDGET?: string;
}
