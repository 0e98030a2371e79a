import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonIfExists } from './json-file';
import { modelFilesUnavailable, onnxFileCandidates } from './model-source';
import { readSentenceTransformerSettings, SentenceTransformerSettings } from './sentence-transformers-settings';

/** Everything needed to run one model, read from a folder in Hugging Face hub layout. */
export interface ModelFiles {
  folder: string;
  onnxPath: string;
  /** The file to load on CUDA, when it differs from onnxPath. */
  cudaOnnxPath?: string;
  tokenizerPath: string;
  settings: SentenceTransformerSettings;
  /** The longest input in tokens, special tokens included. */
  maxTokens: number;
  padToken?: string;
}

/** Used only when neither sentence_bert_config.json, config.json nor tokenizer_config.json states a limit. */
const FALLBACK_MAX_TOKENS = 512;

export async function readModelFiles(
  modelId: string,
  folder: string,
  modelFile?: string,
  cudaModelFile?: string,
): Promise<ModelFiles> {
  const onnx = findOnnxFile(folder, modelFile);
  const cudaOnnx = cudaModelFile === undefined ? undefined : findOnnxFile(folder, cudaModelFile);
  const tokenizerPath = join(folder, 'tokenizer.json');
  const missing = [
    ...onnx.missing,
    ...(cudaOnnx?.missing ?? []),
    ...(existsSync(tokenizerPath) ? [] : [tokenizerPath]),
  ];
  const onnxPath = onnx.path;
  if (!onnxPath || missing.length > 0) {
    throw modelFilesUnavailable(modelId, missing, [folder], 'required files are missing from the model folder');
  }
  const settings = await readSentenceTransformerSettings(folder);
  const tokenizerConfig = await readJsonIfExists<Record<string, unknown>>(join(folder, 'tokenizer_config.json'));
  const maxTokens = await maxTokensOf(folder, settings, tokenizerConfig);
  const padToken = typeof tokenizerConfig?.pad_token === 'string' ? tokenizerConfig.pad_token : undefined;
  const cudaOnnxPath = cudaOnnx?.path === onnxPath ? undefined : cudaOnnx?.path;
  return { folder, onnxPath, cudaOnnxPath, tokenizerPath, settings, maxTokens, padToken };
}

/** The first candidate path of an ONNX file that exists, or every candidate as missing. */
function findOnnxFile(folder: string, file?: string): { path?: string; missing: string[] } {
  const candidates = onnxFileCandidates(file).map((candidate) => join(folder, candidate));
  const path = candidates.find((candidate) => existsSync(candidate));
  return { path, missing: path ? [] : candidates };
}

/**
 * sentence-transformers truncates to max_seq_length; without one, to the tokenizer's model_max_length. Either way
 * never beyond max_position_embeddings, which the graph cannot index past.
 */
async function maxTokensOf(
  folder: string,
  settings: SentenceTransformerSettings,
  tokenizerConfig: Record<string, unknown> | undefined,
): Promise<number> {
  const config = await readJsonIfExists<Record<string, unknown>>(join(folder, 'config.json'));
  const limits = [settings.maxSeqLength ?? tokenizerConfig?.model_max_length, config?.max_position_embeddings];
  const stated = limits.filter((limit): limit is number => typeof limit === 'number' && limit > 0);
  return stated.length > 0 ? Math.min(...stated) : FALLBACK_MAX_TOKENS;
}
