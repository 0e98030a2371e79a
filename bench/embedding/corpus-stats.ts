import { BatchLimits, planBatches, runCostTokens } from '../../src/embedding/token-batches';
import { median, sum } from '../lib/stats';

export interface CorpusStats {
  texts: number;
  /** After truncation to the model's limit, special tokens included. */
  tokens: { total: number; mean: number; median: number; max: number };
  truncated: number;
  /** Tokens fed to the model (batch size x longest text, summed) and the share of them that are real text. */
  padded: {
    lengthSorted: { tokens: number; realShare: number };
    corpusOrder: { tokens: number; realShare: number };
  };
}

/**
 * How much compute goes to padding: the provider's length-sorted plan against batches of the same size taken in
 * corpus order, as transformers.js gets them.
 */
export function corpusStats(untruncated: number[], maxTokens: number, limits: BatchLimits): CorpusStats {
  const lengths = untruncated.map((length) => Math.min(length, maxTokens));
  const total = sum(lengths);
  const paddedTokens = (batches: number[][]) =>
    sum(batches.map((batch) => batch.length * Math.max(...batch.map((index) => lengths[index]))));
  const sorted = paddedTokens(planBatches(lengths, limits));
  const inOrder = paddedTokens(
    Array.from({ length: Math.ceil(lengths.length / limits.maxBatchSize) }, (_, batch) =>
      lengths
        .slice(batch * limits.maxBatchSize, (batch + 1) * limits.maxBatchSize)
        .map((_, row) => batch * limits.maxBatchSize + row),
    ),
  );
  return {
    texts: lengths.length,
    tokens: { total, mean: total / lengths.length, median: median(lengths), max: Math.max(...lengths) },
    truncated: untruncated.filter((length) => length > maxTokens).length,
    padded: {
      lengthSorted: { tokens: sorted, realShare: total / sorted },
      corpusOrder: { tokens: inOrder, realShare: total / inOrder },
    },
  };
}
