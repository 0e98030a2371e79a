import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ModelEntryConfig, ModelSourceConfig, OpenAiModelEntry, RateBudgetConfig, TeiModelEntry } from './app-config';
import { EnvDto } from './env.dto';
import { ModelEntryDto, ModelsFileDto } from './models-file.dto';

/** A models file that cannot be read, parsed or validated; the message names the file, the entry and the field. */
export class InvalidModelsFileError extends Error {}

/** Which fields each back end takes, beside `id`, `backend` and `price_per_million_tokens`. */
const REMOTE_FIELDS = [
  'url',
  'model',
  'api_key_env',
  'api_key_file',
  'timeout_ms',
  'max_attempts',
  'retry_base_ms',
  'startup_wait_ms',
];
const FIELDS_BY_BACKEND: Record<ModelEntryDto['backend'], string[]> = {
  onnx: ['source', 'file', 'device', 'device_id'],
  tei: REMOTE_FIELDS,
  openai: [
    ...REMOTE_FIELDS,
    'dimensions',
    'supports_dimensions',
    'max_inputs',
    'max_request_tokens',
    'max_input_tokens',
    'tokenizer',
    'budget',
  ],
};
const COMMON_FIELDS = ['id', 'backend', 'price_per_million_tokens'];
const KNOWN_FIELDS = new Set([...COMMON_FIELDS, ...Object.values(FIELDS_BY_BACKEND).flat()]);

/** Defaults of an OpenAI-compatible entry (docs/models.md's models file section lists them). */
export const OPENAI_DEFAULTS = {
  timeoutMs: 60_000,
  maxAttempts: 4,
  retryBaseMs: 500,
  startupWaitMs: 120_000,
  maxInputs: 256,
  maxRequestTokens: 300_000,
  maxInputTokens: 8191,
  concurrency: 4,
};

interface ReadContext {
  path: string;
  /** Relative paths in the file (folders, tokenizers, key files) are relative to the file's folder. */
  folder: string;
  env: NodeJS.ProcessEnv;
  defaults: EnvDto;
}

/**
 * Reads EMBEDDING_MODELS_FILE (YAML, or JSON, which YAML reads too) into typed entries, with the defaults filled
 * in from the other settings. Every problem is reported at once, each naming the entry (`models[2] "name"`) and the
 * field; API keys are read here, from the variable or file the entry names, and never appear in a message.
 */
export function readModelsFile(path: string, env: NodeJS.ProcessEnv, defaults: EnvDto): ModelEntryConfig[] {
  const context: ReadContext = { path, folder: dirname(resolve(path)), env, defaults };
  const document = parseDocument(path);
  const entries = validate(document, context);
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const models = entries.map((entry, index) => {
    const name = `models[${index}] "${entry.id}"`;
    const first = seen.get(entry.id);
    if (first !== undefined) problems.push(`${name}: id is already used by models[${first}]`);
    seen.set(entry.id, index);
    try {
      return toEntryConfig(entry, context);
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`);
      return undefined;
    }
  });
  if (problems.length > 0) throw invalid(path, problems);
  return models as ModelEntryConfig[];
}

function parseDocument(path: string): unknown {
  if (!existsSync(path) || !statSync(path).isFile()) throw invalid(path, ['no such file']);
  const text = readFileSync(path, 'utf8');
  try {
    return extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw invalid(path, [`cannot be parsed: ${(error as Error).message}`]);
  }
}

/** Shape and types with class-validator, and which fields each back end takes. */
function validate(document: unknown, context: ReadContext): ModelEntryDto[] {
  const root = document as { models?: unknown } | null;
  if (typeof root !== 'object' || root === null || Array.isArray(root) || !('models' in root)) {
    throw invalid(context.path, ['must be a mapping with a `models:` list']);
  }
  const extra = Object.keys(root).filter((key) => key !== 'models');
  if (extra.length > 0) throw invalid(context.path, [`unknown top-level field ${extra.join(', ')} (only models)`]);
  const list = Array.isArray(root.models) ? (root.models as unknown[]) : undefined;
  const notMappings = (list ?? []).flatMap((entry, index) =>
    typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? [] : [`models[${index}] must be a mapping`],
  );
  if (notMappings.length > 0) throw invalid(context.path, notMappings);
  const dto = plainToInstance(ModelsFileDto, root);
  const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: true });
  const problems = errors.flatMap((error) => describe(error, '', list));
  dto.models?.forEach((entry, index) =>
    problems.push(...misplacedFields(entry, index, list![index] as Record<string, unknown>)),
  );
  if (problems.length > 0) throw invalid(context.path, problems);
  return dto.models;
}

/** Fields given to a back end that does not take them, and a url missing where one is needed. */
function misplacedFields(entry: ModelEntryDto, index: number, raw: Record<string, unknown>): string[] {
  const allowed = FIELDS_BY_BACKEND[entry.backend];
  if (!allowed) return [];
  const name = `models[${index}] "${entry.id}"`;
  const problems = Object.keys(raw)
    .filter((field) => KNOWN_FIELDS.has(field) && !COMMON_FIELDS.includes(field) && !allowed.includes(field))
    .map((field) => `${name}: ${field} does not apply to backend ${entry.backend}`);
  if (entry.backend !== 'onnx' && entry.url === undefined)
    problems.push(`${name}: url is required for ${entry.backend}`);
  return problems;
}

/** class-validator's tree as `models[1] "id": field message (got value)` lines. */
function describe(error: ValidationError, path: string, list?: unknown[]): string[] {
  const isIndex = /^\d+$/.test(error.property);
  const here = isIndex ? `${path}[${error.property}]` : path ? `${path}.${error.property}` : error.property;
  const messages = Object.entries(error.constraints ?? {}).map(([kind, message]) =>
    kind === 'whitelistValidation'
      ? `${label(here, list)}: unknown field`
      : `${label(here, list)} ${message}${got(error.value)}`,
  );
  return [...messages, ...(error.children ?? []).flatMap((child) => describe(child, here, list))];
}

/** `models[2].budget.concurrency` as `models[2] "name": budget.concurrency`. */
function label(path: string, list?: unknown[]): string {
  const match = /^models\[(\d+)\]\.?(.*)$/.exec(path);
  if (!match) return path;
  const id = (list?.[Number(match[1])] as { id?: unknown } | undefined)?.id;
  const entry = `models[${match[1]}]${typeof id === 'string' ? ` "${id}"` : ''}`;
  return match[2] ? `${entry}: ${match[2]}` : entry;
}

function got(value: unknown): string {
  if (value === undefined || typeof value === 'object') return '';
  return ` (got ${JSON.stringify(value)})`;
}

function toEntryConfig(entry: ModelEntryDto, context: ReadContext): ModelEntryConfig {
  const common = { id: entry.id, pricePerMillionTokens: entry.price_per_million_tokens };
  const { defaults } = context;
  if (entry.backend === 'onnx') {
    return {
      ...common,
      backend: 'onnx',
      source: parseSource(entry.id, entry.source ?? entry.id, context),
      modelFile: entry.file ?? defaults.EMBEDDING_MODEL_FILE,
      device: entry.device ?? defaults.EMBEDDING_DEVICE,
      deviceId: entry.device_id ?? defaults.EMBEDDING_DEVICE_ID,
    };
  }
  const remote = {
    ...common,
    url: entry.url!,
    apiKey: readApiKey(entry, context),
  };
  if (entry.backend === 'tei') return teiEntry(entry, remote, defaults);
  return openAiEntry(entry, remote, context);
}

function teiEntry(
  entry: ModelEntryDto,
  remote: { id: string; url: string; apiKey?: string },
  env: EnvDto,
): TeiModelEntry {
  return {
    ...remote,
    backend: 'tei',
    model: entry.model,
    timeoutMs: entry.timeout_ms ?? env.TEI_TIMEOUT_MS,
    maxAttempts: entry.max_attempts ?? env.TEI_MAX_ATTEMPTS,
    retryBaseMs: entry.retry_base_ms ?? env.TEI_RETRY_BASE_MS,
    startupWaitMs: entry.startup_wait_ms ?? env.TEI_STARTUP_WAIT_MS,
  };
}

function openAiEntry(
  entry: ModelEntryDto,
  remote: { id: string; url: string; apiKey?: string },
  context: ReadContext,
): OpenAiModelEntry {
  const budget: RateBudgetConfig = {
    requestsPerMinute: entry.budget?.requests_per_minute,
    tokensPerMinute: entry.budget?.tokens_per_minute,
    concurrency: entry.budget?.concurrency ?? OPENAI_DEFAULTS.concurrency,
  };
  return {
    ...remote,
    backend: 'openai',
    model: entry.model ?? entry.id,
    timeoutMs: entry.timeout_ms ?? OPENAI_DEFAULTS.timeoutMs,
    maxAttempts: entry.max_attempts ?? OPENAI_DEFAULTS.maxAttempts,
    retryBaseMs: entry.retry_base_ms ?? OPENAI_DEFAULTS.retryBaseMs,
    startupWaitMs: entry.startup_wait_ms ?? OPENAI_DEFAULTS.startupWaitMs,
    dimensions: entry.dimensions,
    supportsDimensions: entry.supports_dimensions ?? true,
    maxInputs: entry.max_inputs ?? OPENAI_DEFAULTS.maxInputs,
    maxRequestTokens: entry.max_request_tokens ?? OPENAI_DEFAULTS.maxRequestTokens,
    maxInputTokens: entry.max_input_tokens ?? OPENAI_DEFAULTS.maxInputTokens,
    tokenizer: entry.tokenizer === undefined ? undefined : tokenizerPath(entry.tokenizer, context),
    budget,
  };
}

/** `owner/name[@revision]` from the hub, or a folder (`/…`, `./…`, `../…`, relative to the file). */
function parseSource(id: string, source: string, context: ReadContext): ModelSourceConfig {
  if (/^(\/|\.{1,2}\/)/.test(source)) return { id, path: resolve(context.folder, source) };
  const [hubId, revision] = source.split('@', 2);
  if (!/^[\w-][\w.-]*\/[\w-][\w.-]*$/.test(hubId)) {
    const field = source === id ? 'id (the source when none is given)' : 'source';
    throw new Error(`${field} must be owner/name[@revision] or a folder (/… or ./…); got "${source}"`);
  }
  return { id, hubId, revision };
}

function tokenizerPath(tokenizer: string, context: ReadContext): string {
  const path = resolve(context.folder, tokenizer);
  const file = existsSync(path) && statSync(path).isDirectory() ? resolve(path, 'tokenizer.json') : path;
  if (!existsSync(file)) throw new Error(`tokenizer: no tokenizer.json at ${file}`);
  return file;
}

/** From the variable or the file the entry names; a key is never written in the models file itself. */
function readApiKey(entry: ModelEntryDto, context: ReadContext): string | undefined {
  if (entry.api_key_env !== undefined && entry.api_key_file !== undefined) {
    throw new Error('give api_key_env or api_key_file, not both');
  }
  if (entry.api_key_env !== undefined) {
    const key = context.env[entry.api_key_env];
    if (!key) throw new Error(`api_key_env names ${entry.api_key_env}, which is not set`);
    return key;
  }
  if (entry.api_key_file === undefined) return undefined;
  const file = isAbsolute(entry.api_key_file) ? entry.api_key_file : resolve(context.folder, entry.api_key_file);
  try {
    const key = readFileSync(file, 'utf8').trim();
    if (!key) throw new Error('it is empty');
    return key;
  } catch (error) {
    throw new Error(`api_key_file ${file} cannot be read: ${(error as Error).message}`, { cause: error });
  }
}

function invalid(path: string, problems: string[]): InvalidModelsFileError {
  return new InvalidModelsFileError(`Invalid EMBEDDING_MODELS_FILE ${path}: ${problems.join('; ')}`);
}
