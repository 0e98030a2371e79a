import { TextTokenizer, truncateTokens } from '../../src/embedding/text-tokenizer';
import { planBatches } from '../../src/embedding/token-batches';
import { makeCorpus } from '../lib/corpus';

function dp(lengths: number[], maxSize: number, maxTokens: number, overhead: number) {
  const sorted = [...lengths].sort((a, b) => b - a);
  const n = sorted.length;
  const best = new Array(n + 1).fill(Infinity); best[0] = 0;
  const cut = new Array(n + 1).fill(0);
  for (let end = 1; end <= n; end++) {
    for (let size = 1; size <= Math.min(maxSize, end); size++) {
      const start = end - size;
      const padded = size * sorted[start];
      if (size > 1 && padded > maxTokens) break;
      const cost = best[start] + padded + overhead;
      if (cost < best[end]) { best[end] = cost; cut[end] = start; }
    }
  }
  let padded = 0, batches = 0;
  for (let end = n; end > 0; end = cut[end]) { padded += (end - cut[end]) * sorted[cut[end]]; batches++; }
  return { padded, batches };
}
async function main() {
  const tok = TextTokenizer.fromFile('/work/main/.cache/models/minilm/tokenizer.json');
  for (const [texts, chunk] of [[192, 192], [1024, 1024], [1024, 64]]) {
    const corpus = makeCorpus({ texts, minWords: 5, maxWords: 180, seed: 20240611 });
    const lengths = (await tok.encode(corpus)).map((t) => truncateTokens(t, 256).ids.length);
    let real = 0, greedy = 0, greedyB = 0; const dps: Record<number, { padded: number; batches: number }> = {};
    for (let i = 0; i < lengths.length; i += chunk) {
      const part = lengths.slice(i, i + chunk);
      real += part.reduce((a, b) => a + b);
      const plan = planBatches(part, { maxBatchTokens: 8192, maxBatchSize: 32 });
      greedy += plan.reduce((s, b) => s + b.length * Math.max(...b.map((j) => part[j])), 0); greedyB += plan.length;
      for (const o of [32, 128, 512]) { const r = dp(part, 32, 8192, o); dps[o] = { padded: (dps[o]?.padded ?? 0) + r.padded, batches: (dps[o]?.batches ?? 0) + r.batches }; }
    }
    console.log(`${texts} texts in calls of ${chunk}: real ${real}; greedy ${greedy} (${(real / greedy * 100).toFixed(1)}%, ${greedyB} batches)`, Object.entries(dps).map(([o, r]) => `dp(o=${o}) ${(real / r.padded * 100).toFixed(1)}% ${r.batches}b`).join('; '));
  }
}
main();
