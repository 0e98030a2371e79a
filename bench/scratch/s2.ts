import { InferenceSession, Tensor } from 'onnxruntime-node';
import { availableParallelism } from 'node:os';

async function main() {
  const dir = '/work/main/.cache/models/minilm';
  for (const threads of [1, 2]) {
    const s = await InferenceSession.create(dir + '/onnx/model.onnx', { graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
    for (const [b, l] of [[32, 128], [32, 64], [8, 256], [1, 128]]) {
      const n = b * l;
      const ids = new BigInt64Array(n).fill(100n);
      const mask = new BigInt64Array(n).fill(1n);
      const tt = new BigInt64Array(n);
      const feeds = { input_ids: new Tensor('int64', ids, [b, l]), attention_mask: new Tensor('int64', mask, [b, l]), token_type_ids: new Tensor('int64', tt, [b, l]) };
      await s.run(feeds);
      const reps = b === 1 ? 20 : 3;
      const t = performance.now();
      for (let i = 0; i < reps; i++) await s.run(feeds);
      const ms = (performance.now() - t) / reps;
      console.log(`threads ${threads} [${b},${l}] ${ms.toFixed(1)} ms  ${(n / ms * 1000).toFixed(0)} tok/s`);
    }
    await s.release();
  }
}
main();
