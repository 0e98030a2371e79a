import { allEmbedded } from '../../src/embedding/providers/embedding-provider';
import { OnnxEmbeddingProvider } from '../../src/embedding/providers/onnx/onnx-embedding-provider';

/** A real vector of the model in `modelPath`, computed once; the benches' fake servers answer it for every input. */
export async function fixedVector(modelPath: string): Promise<number[]> {
  const provider = new OnnxEmbeddingProvider({ models: [{ id: 'fixed', path: modelPath }] });
  await provider.init();
  try {
    return Array.from(allEmbedded(await provider.embed('fixed', ['a fixed benchmark text']))[0]);
  } finally {
    await provider.close();
  }
}
