import { availableParallelism } from 'node:os';

/**
 * transformers.js (the @huggingface/transformers package) loaded from a local model folder only. In Node it runs
 * onnxruntime-node; its CPU thread settings are ordinary ORT session options, passed through pipeline()'s
 * `session_options` (env.backends.onnx only holds the web backends' settings, e.g. wasm.numThreads).
 */
export interface TransformersJsSetup {
  /** What its ORT session was given, for the report. */
  sessionOptions: Record<string, string | number>;
  maxLength: number;
  /** Its tokenizer's own limit before the override. */
  configuredMaxLength: number;
  dtype: string;
  embed(texts: string[]): Promise<void>;
  dispose(): Promise<void>;
}

interface FeatureExtractor {
  (texts: string[], options: { pooling: 'mean'; normalize: boolean }): Promise<{ dims: number[] }>;
  tokenizer: TransformersJsTokenizer & { _tokenizerConfig: { model_max_length?: number } };
  dispose(): Promise<void>;
}

export interface TransformersJsTokenizer {
  (texts: string[], options: Record<string, unknown>): { input_ids: unknown };
  model_max_length: number;
}

async function loadLibrary() {
  const library = await import('@huggingface/transformers');
  library.env.allowRemoteModels = false;
  return library;
}

export async function loadTransformersJsPipeline(modelDir: string, maxLength: number): Promise<TransformersJsSetup> {
  const { pipeline } = await loadLibrary();
  // The provider's session settings (src/embedding/providers/onnx/onnx-session.ts), spinning off included.
  const threads = availableParallelism();
  const sessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
  const dtype = 'fp32';
  const extractor = (await pipeline('feature-extraction', modelDir, {
    local_files_only: true,
    device: 'cpu',
    dtype,
    session_options: sessionOptions as never,
  })) as unknown as FeatureExtractor;
  const configuredMaxLength = extractor.tokenizer.model_max_length;
  // Its pipeline truncates to the tokenizer's model_max_length and takes no max_length, so the limit is set there.
  extractor.tokenizer._tokenizerConfig.model_max_length = maxLength;
  return {
    sessionOptions: {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      'session.intra_op.allow_spinning': '0',
      'session.inter_op.allow_spinning': '0',
    },
    maxLength,
    configuredMaxLength,
    dtype,
    embed: async (texts) => {
      await extractor(texts, { pooling: 'mean', normalize: true });
    },
    dispose: () => extractor.dispose(),
  };
}

export async function loadTransformersJsTokenizer(modelDir: string): Promise<TransformersJsTokenizer> {
  const { AutoTokenizer } = await loadLibrary();
  return await AutoTokenizer.from_pretrained(modelDir, {
    local_files_only: true,
  });
}

/** The longest sequence transformers.js feeds for `texts` (to check that the max length took effect). */
export function transformersJsLongest(tokenizer: TransformersJsTokenizer, texts: string[], maxLength: number): number {
  const encoded = tokenizer(texts, { truncation: true, max_length: maxLength, return_tensor: false }) as {
    input_ids: number[][];
  };
  return Math.max(...encoded.input_ids.map((ids) => ids.length));
}
