import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { parse } from 'dotenv';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AppConfig } from './app-config';
import { EnvDto } from './env.dto';

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
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const root = findProjectRoot();
  const defaults = readDefaults(root);
  const merged = { ...defaults, ...pickKnown(env, Object.keys(defaults)) };
  const dto = plainToInstance(EnvDto, merged);
  const errors = validateSync(dto, { whitelist: true });
  if (errors.length > 0) {
    // One message per variable, quoting what was given rather than what the conversion made of it.
    const messages = errors.map(
      (error) => `${Object.values(error.constraints ?? {})[0]} (got "${merged[error.property as keyof typeof merged]}")`,
    );
    throw new InvalidConfigError(`Invalid environment variables: ${messages.join('; ')}`);
  }
  return toAppConfig(dto);
}

function pickKnown(env: NodeJS.ProcessEnv, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((key) => env[key] !== undefined).map((key) => [key, env[key] as string]));
}

function toAppConfig(env: EnvDto): AppConfig {
  return {
    http: { host: env.HOST, port: env.PORT, bodyLimit: env.HTTP_BODY_LIMIT, apiKey: env.API_KEY },
    logLevel: env.LOG_LEVEL,
    database: {
      url: env.DATABASE_URL,
      poolSize: env.DATABASE_POOL_SIZE,
      runMigrations: env.DATABASE_MIGRATIONS_RUN,
      logging: env.DATABASE_LOGGING,
      embedded: { dataDir: resolve(env.EMBEDDED_PG_DATA_DIR), port: env.EMBEDDED_PG_PORT },
    },
    tasks: { maxChunksPerRequest: env.TASK_MAX_CHUNKS_PER_REQUEST },
    health: { timeoutMs: env.HEALTH_CHECK_TIMEOUT_MS },
  };
}
