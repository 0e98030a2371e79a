import { Tensor } from 'onnxruntime-node';
import { createOnnxSession } from '../../src/embedding/onnx-session';
import { TextTokenizer, truncateTokens } from '../../src/embedding/text-tokenizer';
import { padBatch, planBatches } from '../../src/embedding/token-batches';
import { makeCorpus } from '../lib/corpus';

function dp(lengths: number[], maxSize: number, maxTokens: number, overhead: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const n = order.length;
  const best = new Array(n + 1).fill(Infinity); best[0] = 0;
  const cut = new Array(n + 1).fill(0);
  for (let end = 1; end <= n; end++) {
    for (let size = Math.min(maxSize, end); size >= 1; size--) {
      const start = end - size;
      const padded = size * lengths[order[start]];
      if (size > 1 && padded > maxTokens) continue;
      const cost = best[start] + padded + overhead;
      if (cost < best[end]) { best[end] = cost; cut[end] = start; }
    }
  }
  const batches: number[][] = [];
  for (let end = n; end > 0; end = cut[end]) batches.unshift(order.slice(cut[end], end));
  return batches;
}
async function main() {
  const dir = '/work/main/.cache/models/minilm';
  const tok = TextTokenizer.fromFile(dir + '/tokenizer.json');
  const corpus = makeCorpus({ texts: 192, minWords: 5, maxWords: 180, seed: 20240611 });
  const t = (await tok.encode(corpus)).map((x) => truncateTokens(x, 256));
  const lengths = t.map((x) => x.ids.length);
  const { session } = await createOnnxSession(dir + '/onnx/model.onnx', { device: 'cpu' });
  const feeds = (plan: number[][]) => plan.map((idx) => { const b = padBatch(t, idx, 0); const sh = [b.batchSize, b.sequenceLength]; return { input_ids: new Tensor('int64', b.inputIds, sh), attention_mask: new Tensor('int64', b.attentionMask, sh), token_type_ids: new Tensor('int64', b.tokenTypeIds, sh) }; });
  const plans: Record<string, any[]> = { greedy: feeds(planBatches(lengths, { maxBatchTokens: 8192, maxBatchSize: 32 })), dp32: feeds(dp(lengths, 32, 8192, 32)), dp128: feeds(dp(lengths, 32, 8192, 128)), dp512: feeds(dp(lengths, 32, 8192, 512)) };
  const res: Record<string, number[]> = {};
  for (let r = 0; r < 3; r++) for (const [name, f] of Object.entries(plans)) {
    const s = performance.now(); for (const x of f) await session.run(x); const sec = (performance.now() - s) / 1000;
    (res[name] ??= []).push(sec); console.log(r, name, f.length, 'batches', sec.toFixed(2));
  }
  console.log(res);
}
main();
