import { join } from 'node:path';
import { EmbeddingError, EmbeddingErrorCode } from '../../../embedding.errors';
import { PoolingMode } from '../../embedding-model';
import { readJsonIfExists } from './json-file';

export type TokenPooling = Exclude<PoolingMode, 'sentence_embedding'>;

/** What sentence-transformers would do around the transformer: pooling, normalising, length limit, prompts. */
export interface SentenceTransformerSettings {
  pooling: TokenPooling;
  normalize: boolean;
  /** sentence_bert_config.json max_seq_length, when the model states one. */
  maxSeqLength?: number;
  doLowerCase: boolean;
  prompts: Record<string, string>;
  defaultPromptName: string | null;
}

interface ModuleEntry {
  path: string;
  type: string;
}

type PoolingConfig = Record<string, unknown>;

/** The module types we can run: the ONNX graph is the Transformer; Pooling and Normalize are done here. */
const SUPPORTED_MODULES = ['Transformer', 'Pooling', 'Normalize'];
const POOLING_FLAGS: Record<string, TokenPooling | undefined> = {
  pooling_mode_mean_tokens: 'mean',
  pooling_mode_cls_token: 'cls',
  pooling_mode_lasttoken: 'lasttoken',
  pooling_mode_max_tokens: undefined,
  pooling_mode_mean_sqrt_len_tokens: undefined,
  pooling_mode_weightedmean_tokens: undefined,
};

export async function readSentenceTransformerSettings(folder: string): Promise<SentenceTransformerSettings> {
  const modules = (await readJsonIfExists<ModuleEntry[]>(join(folder, 'modules.json'))) ?? [];
  assertSupportedModules(folder, modules);
  const transformerPath = findModule(modules, 'Transformer')?.path ?? '';
  const bertConfig = await readJsonIfExists<Record<string, unknown>>(
    join(folder, transformerPath, 'sentence_bert_config.json'),
  );
  const stConfig = await readJsonIfExists<Record<string, unknown>>(join(folder, 'config_sentence_transformers.json'));
  const prompts = (stConfig?.prompts as Record<string, string> | undefined) ?? {};
  return {
    pooling: await readPooling(folder, findModule(modules, 'Pooling')),
    normalize: findModule(modules, 'Normalize') !== undefined,
    maxSeqLength: typeof bertConfig?.max_seq_length === 'number' ? bertConfig.max_seq_length : undefined,
    doLowerCase: bertConfig?.do_lower_case === true,
    prompts,
    defaultPromptName: (stConfig?.default_prompt_name as string | null | undefined) ?? null,
  };
}

function findModule(modules: ModuleEntry[], kind: string): ModuleEntry | undefined {
  return modules.find((module) => moduleKind(module) === kind);
}

/** `sentence_transformers.models.Pooling` -> `Pooling`. */
function moduleKind(module: ModuleEntry): string {
  return module.type.split('.').pop() ?? module.type;
}

function assertSupportedModules(folder: string, modules: ModuleEntry[]): void {
  const unsupported = modules.filter((module) => !SUPPORTED_MODULES.includes(moduleKind(module)));
  if (unsupported.length > 0) {
    const types = unsupported.map((module) => module.type).join(', ');
    throw new EmbeddingError(
      EmbeddingErrorCode.UnsupportedModel,
      `${folder}/modules.json lists modules this runtime cannot run: ${types}`,
    );
  }
}

/** Without a Pooling module sentence-transformers defaults to mean pooling, and so do we. */
async function readPooling(folder: string, module: ModuleEntry | undefined): Promise<TokenPooling> {
  const configPath = join(folder, module?.path ?? '1_Pooling', 'config.json');
  const config = await readJsonIfExists<PoolingConfig>(configPath);
  if (!config) {
    return 'mean';
  }
  const enabled = Object.keys(POOLING_FLAGS).filter((flag) => config[flag] === true);
  const pooling = enabled.length === 1 ? POOLING_FLAGS[enabled[0]] : undefined;
  if (!pooling || config.include_prompt === false) {
    throw new EmbeddingError(
      EmbeddingErrorCode.UnsupportedModel,
      `${configPath}: only exactly one of mean, cls or lasttoken pooling, with include_prompt true, is supported`,
    );
  }
  return pooling;
}
