import { InferenceSession, Tensor } from 'onnxruntime-node';
async function main() {
  const dir = '/work/main/.cache/models/minilm';
  const s = await InferenceSession.create(dir + '/onnx/model.onnx', { graphOptimizationLevel: 'all', intraOpNumThreads: 2, interOpNumThreads: 1, executionMode: 'sequential' });
  const feedsFor = (b: number, l: number) => {
    const n = b * l;
    return { input_ids: new Tensor('int64', new BigInt64Array(n).fill(100n), [b, l]), attention_mask: new Tensor('int64', new BigInt64Array(n).fill(1n), [b, l]), token_type_ids: new Tensor('int64', new BigInt64Array(n), [b, l]) };
  };
  for (const l of [128, 256, 64]) {
    for (const b of [1, 2, 4, 8, 16, 32]) {
      const f = feedsFor(b, l);
      await s.run(f);
      const reps = Math.max(1, Math.round(8192 / (b * l)));
      const t = performance.now();
      for (let i = 0; i < reps; i++) await s.run(f);
      const ms = performance.now() - t;
      console.log(`[${b},${l}] ${(reps * b * l / ms * 1000).toFixed(0)} tok/s`);
    }
  }
}
main();
