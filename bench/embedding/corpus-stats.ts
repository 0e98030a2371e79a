import { BatchLimits, planBatches, runCostTokens } from '../../src/embedding/providers/onnx/token-batches';
import { chunk } from '../lib/chunk';
import { median, sum } from '../lib/stats';

export interface PaddedTokens {
  batches: number;
  /** Batch size x longest text, summed: what the model computes on. */
  tokens: number;
  /** The share of those tokens that are text rather than padding. */
  realShare: number;
}

export interface CorpusStats {
  texts: number;
  /** After truncation to the model's limit, special tokens included. */
  tokens: { total: number; mean: number; median: number; max: number };
  truncated: number;
  padded: {
    /** The provider's plan on CPU (also what the raw session.run contender runs). */
    provider: PaddedTokens;
    /** Length-sorted, as few batches as the limits allow (the provider's plan on CUDA). */
    fullBatches: PaddedTokens;
    /** Batches of maxBatchSize in corpus order, as transformers.js gets them. */
    corpusOrder: PaddedTokens;
  };
}

/** How much compute goes to padding under each way of batching the corpus, given in calls of `callSize` texts. */
export function corpusStats(
  untruncated: number[],
  maxTokens: number,
  limits: BatchLimits,
  callSize: number,
): CorpusStats {
  const lengths = untruncated.map((length) => Math.min(length, maxTokens));
  const total = sum(lengths);
  const calls = chunk(
    lengths.map((_, index) => index),
    callSize,
  );
  // Plans index into one call's lengths; map them back to corpus positions.
  const planned = (runCost: number) =>
    calls.flatMap((call) =>
      planBatches(
        call.map((index) => lengths[index]),
        limits,
        runCost,
      ).map((batch) => batch.map((position) => call[position])),
    );
  const measure = (batches: number[][]): PaddedTokens => {
    const tokens = sum(batches.map((batch) => batch.length * Math.max(...batch.map((index) => lengths[index]))));
    return { batches: batches.length, tokens, realShare: total / tokens };
  };
  const corpusOrder = calls.flatMap((call) => chunk(call, limits.maxBatchSize));
  return {
    texts: lengths.length,
    tokens: { total, mean: total / lengths.length, median: median(lengths), max: Math.max(...lengths) },
    truncated: untruncated.filter((length) => length > maxTokens).length,
    padded: {
      provider: measure(planned(runCostTokens('cpu', limits))),
      fullBatches: measure(planned(runCostTokens('cuda', limits))),
      corpusOrder: measure(corpusOrder),
    },
  };
}
