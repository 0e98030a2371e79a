import { fork } from 'node:child_process';
import { basename, dirname, join } from 'node:path';

/** One library embedding a list of texts as its documentation tells users to, answering one vector per text. */
export interface Peer {
  name: string;
  precision: 'fp32' | 'int8';
  /** What it was given, for the report. */
  how: string;
  embed(texts: string[]): Promise<Float32Array[]>;
  dispose(): Promise<void>;
}

/**
 * transformers.js as its docs run it: `pipeline('feature-extraction', model, { dtype })`, then one call over every
 * text with mean pooling and normalising. The model comes from a local folder (env.localModelPath, remote models
 * off), in the hub layout it downloads: `onnx/model.onnx` for fp32, `onnx/model_quantized.onnx` for q8.
 */
export async function transformersJsPeer(modelDir: string, dtype: 'fp32' | 'q8'): Promise<Peer> {
  const { env, pipeline } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = dirname(modelDir);
  const extractor = (await pipeline('feature-extraction', basename(modelDir), { dtype })) as unknown as (
    texts: string[],
    options: { pooling: 'mean'; normalize: boolean },
  ) => Promise<{ data: Float32Array; dims: number[] }> & { dispose(): Promise<void> };
  return {
    name: `transformers.js ${dtype}`,
    precision: dtype === 'q8' ? 'int8' : 'fp32',
    how: `pipeline('feature-extraction', '${basename(modelDir)}', { dtype: '${dtype}' }), all texts in one call`,
    embed: async (texts) => {
      const { data, dims } = await extractor(texts, { pooling: 'mean', normalize: true });
      return rows(data, dims[1]);
    },
    dispose: () => (extractor as unknown as { dispose(): Promise<void> }).dispose(),
  };
}

/**
 * fastembed-js (npm `fastembed`) as its README runs it: FlagEmbedding.init({ model: EmbeddingModel.AllMiniLML6V2 }),
 * then embed(texts) in its default batches of 256, in a child process (fastembed-child.ts says why). It reads the
 * model from `<cacheDir>/fast-all-MiniLM-L6-v2/` when that folder exists, so it gets the generated model's files and
 * fetches nothing. Vectors come back over IPC (a few milliseconds for 128 vectors, counted in its time).
 */
export async function fastembedPeer(modelDir: string, cacheDir: string): Promise<Peer> {
  const child = fork(join(__dirname, 'fastembed-child.ts'), [], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = <T>(message: unknown) =>
    new Promise<T>((resolve, reject) => {
      child.once('message', (answer: T & { error?: string }) =>
        answer.error ? reject(new Error(`fastembed: ${answer.error}`)) : resolve(answer),
      );
      child.send(message as object);
    });
  await ask({ init: { modelDir, cacheDir } });
  return {
    name: 'fastembed-js fp32',
    precision: 'fp32',
    how: 'FlagEmbedding.init({ model: EmbeddingModel.AllMiniLML6V2, cacheDir }), embed(texts) in batches of 256 (child process)',
    embed: async (texts) => (await ask<{ vectors: number[][] }>({ texts })).vectors.map((v) => Float32Array.from(v)),
    dispose: async () => void child.kill(),
  };
}

export function rows(data: Float32Array, width: number): Float32Array[] {
  return Array.from({ length: data.length / width }, (_, row) => data.slice(row * width, (row + 1) * width));
}
