import { EmbeddingError, EmbeddingErrorCode, invalidConfiguration } from '../../../embedding.errors';

/** One configured model: exactly one of `path` (a local folder) or `hubId` (downloaded into the cache). */
export interface EmbeddingModelSource {
  /** The name clients ask for. */
  id: string;
  /** A local folder in Hugging Face hub layout (config.json, tokenizer.json, onnx/model.onnx, ...). */
  path?: string;
  /** A hub repository such as `sentence-transformers/all-MiniLM-L6-v2`. */
  hubId?: string;
  /** Hub branch, tag or commit; pin a commit for reproducible vectors. Default `main`. */
  revision?: string;
  /** The ONNX variant, e.g. `model_quantized.onnx`; a bare name is looked up under `onnx/`. Default `model.onnx`. */
  modelFile?: string;
  /** The variant loaded when the model runs on CUDA (e.g. `model_fp16.onnx`); a CPU fallback loads `modelFile`. */
  cudaModelFile?: string;
}

export const DEFAULT_MODEL_FILE = 'model.onnx';
/** owner/name; also keeps a configured id from escaping the cache folder. */
const HUB_ID = /^[\w-][\w.-]*\/[\w-][\w.-]*$/;

export function validateModelSources(sources: EmbeddingModelSource[]): void {
  const seen = new Set<string>();
  for (const source of sources) {
    if (!source.id) {
      throw invalidConfiguration('Every embedding model needs an id');
    }
    if (seen.has(source.id)) {
      throw invalidConfiguration(`Embedding model id "${source.id}" is configured twice`);
    }
    if (Boolean(source.path) === Boolean(source.hubId)) {
      throw invalidConfiguration(`Embedding model "${source.id}" needs exactly one of path or hubId`);
    }
    if (source.hubId && !HUB_ID.test(source.hubId)) {
      throw invalidConfiguration(`Embedding model "${source.id}": hubId must look like owner/name`);
    }
    if (source.revision !== undefined && !isRevision(source.revision)) {
      throw invalidConfiguration(`Embedding model "${source.id}": revision must be a branch, tag or commit name`);
    }
    seen.add(source.id);
  }
}

/** A branch, tag or commit: it names a file under the cache's refs/, so no `.` or `..` part can climb out. */
function isRevision(revision: string): boolean {
  const parts = revision.split('/');
  return parts.every((part) => /^[\w.-]+$/.test(part) && part !== '.' && part !== '..');
}

/** Relative paths, in preference order, where the ONNX file of a model folder may live. */
export function onnxFileCandidates(modelFile = DEFAULT_MODEL_FILE): string[] {
  return modelFile.includes('/') ? [modelFile] : [`onnx/${modelFile}`, modelFile];
}

/** A model's files are missing and could not (or may not) be fetched: names each file and every place looked in. */
export function modelFilesUnavailable(
  model: string,
  missing: string[],
  searched: string[],
  reason: string,
): EmbeddingError {
  return new EmbeddingError(
    EmbeddingErrorCode.ModelFilesUnavailable,
    `Model "${model}": ${reason}. Missing: ${missing.join(', ')}. Looked in: ${searched.join(', ')}`,
  );
}
