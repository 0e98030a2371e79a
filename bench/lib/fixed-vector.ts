import { allEmbedded } from '../../src/embedding/providers/embedding-model';
import { OnnxModel } from '../../src/embedding/providers/onnx/onnx-model';

/** A real vector of the model in `modelPath`, computed once; the benches' fake servers answer it for every input. */
export async function fixedVector(modelPath: string): Promise<number[]> {
  const provider = new OnnxModel({ id: 'fixed', path: modelPath });
  await provider.load();
  try {
    return Array.from(allEmbedded(await provider.embed(['a fixed benchmark text']))[0]);
  } finally {
    await provider.close();
  }
}
