import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { Tokenizer } from 'tokenizers';
import { rawMeanPooled } from '../../test/fixtures/model/reference-embeddings';

/**
 * The reference vectors: each text alone (no padding) through a plain fp32 onnxruntime session, ids from the native
 * `tokenizers` package, mean pooling and normalising written out by hand (test/fixtures): none of the code under test.
 */
export async function referenceVectors(modelDir: string, texts: string[]): Promise<Float32Array[]> {
  const tokenizer = Tokenizer.fromString(readFileSync(join(modelDir, 'tokenizer.json'), 'utf8'));
  tokenizer.disableTruncation();
  tokenizer.disablePadding();
  const session = await InferenceSession.create(join(modelDir, 'onnx/model.onnx'));
  try {
    const vectors: Float32Array[] = [];
    for (const text of texts) {
      const ids = (await tokenizer.encode(text)).getIds();
      vectors.push(await rawMeanPooled(session, ids, true));
    }
    return vectors;
  } finally {
    await session.release();
  }
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let index = 0; index < a.length; index++) {
    dot += a[index] * b[index];
    aa += a[index] * a[index];
    bb += b[index] * b[index];
  }
  return dot / Math.sqrt(aa * bb);
}
