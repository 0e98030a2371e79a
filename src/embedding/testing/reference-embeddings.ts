import { InferenceSession, Tensor } from 'onnxruntime-node';
import { join } from 'node:path';

/**
 * Independent implementations to check OnnxEmbeddingProvider against: transformers.js's own pipeline, and a
 * hand-written mean pooling over a raw onnxruntime session. Neither shares code with src/embedding.
 */

type FeatureExtractor = (texts: string[], options: { pooling: 'mean'; normalize: boolean }) => Promise<unknown>;

/** transformers.js feature-extraction with mean pooling, from local files only (it truncates differently). */
export async function transformersJsPipeline(modelDir: string): Promise<(text: string) => Promise<Float32Array>> {
  const { env, pipeline } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  const extractor = (await pipeline('feature-extraction', modelDir, {
    local_files_only: true,
    dtype: 'fp32',
  })) as unknown as FeatureExtractor;
  return async (text) => {
    const output = (await extractor([text], { pooling: 'mean', normalize: true })) as { data: Float32Array };
    return Float32Array.from(output.data);
  };
}

/** last_hidden_state of one unpadded sequence, one vector per token. */
export async function rawTokenVectors(session: InferenceSession, ids: number[]): Promise<Float32Array[]> {
  const int64 = (values: number[]) => new Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, values.length]);
  const feeds = {
    input_ids: int64(ids),
    attention_mask: int64(ids.map(() => 1)),
    token_type_ids: int64(ids.map(() => 0)),
  };
  const output = (await session.run(feeds)).last_hidden_state;
  const hidden = output.dims[2];
  const data = output.data as Float32Array;
  return ids.map((_, token) => data.slice(token * hidden, (token + 1) * hidden));
}

/** Mean of last_hidden_state over all given tokens (one unpadded sequence), optionally L2-normalised. */
export async function rawMeanPooled(
  session: InferenceSession,
  ids: number[],
  normalize: boolean,
): Promise<Float32Array> {
  const tokens = await rawTokenVectors(session, ids);
  const mean = new Float32Array(tokens[0].length);
  for (const token of tokens) {
    token.forEach((value, dim) => (mean[dim] += value / tokens.length));
  }
  return normalize ? unitLength(mean) : mean;
}

export function unitLength(vector: Float32Array): Float32Array {
  const norm = Math.hypot(...vector);
  return vector.map((value) => value / norm);
}

/** Word-piece ids without special tokens, from transformers.js's own (JavaScript) tokenizer. */
export async function transformersJsWordPieces(modelDir: string): Promise<(text: string) => number[]> {
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  const tokenizer = await AutoTokenizer.from_pretrained(modelDir, { local_files_only: true });
  return (text) => tokenizer.encode(text, { add_special_tokens: false });
}

export function openRawSession(modelDir: string): Promise<InferenceSession> {
  return InferenceSession.create(join(modelDir, 'onnx/model.onnx'));
}

export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) {
    return Infinity;
  }
  return Math.max(...a.map((value, index) => Math.abs(value - b[index])));
}
