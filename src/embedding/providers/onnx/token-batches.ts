import { ExecutionDevice } from '../embedding-model';
import { TokenizedText } from '../tokenizer/tokenized-text';

export interface BatchLimits {
  /** Upper bound on padded tokens per batch: batch size x longest text in the batch. */
  maxBatchTokens: number;
  maxBatchSize: number;
}

/** One padded batch, row-major [batchSize, sequenceLength], ready to become ONNX tensors. */
export interface TokenBatch {
  /** Positions of these rows in the caller's text list. */
  textIndexes: number[];
  batchSize: number;
  sequenceLength: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
}

/**
 * What one more inference costs beyond its padded tokens, in tokens. On CPU, time per token hardly depends on the
 * batch shape, so several small batches of similar lengths beat one padded to its longest; on a GPU a run has a large
 * fixed cost and small batches leave it idle, so a run costs as much as a full batch and batches stay few.
 */
export const CPU_RUN_COST_TOKENS = 128;

export function runCostTokens(device: ExecutionDevice, limits: BatchLimits): number {
  return device === 'cpu' ? CPU_RUN_COST_TOKENS : limits.maxBatchTokens;
}

/**
 * Groups text indexes into batches of similar length, longest first. Batches are runs of the length-sorted texts,
 * cut where padded tokens plus `runCost` per batch add up to the least (dynamic programming over the cut points),
 * within both limits; a text over the token budget runs alone.
 */
export function planBatches(lengths: number[], limits: BatchLimits, runCost = CPU_RUN_COST_TOKENS): number[][] {
  const longestFirst = lengths.map((_, index) => index).sort((a, b) => lengths[b] - lengths[a] || a - b);
  // cost[end]: the least cost of the first `end` sorted texts; start[end]: where its last batch begins.
  const cost = [0];
  const start = [0];
  for (let end = 1; end <= longestFirst.length; end++) {
    cost.push(Infinity);
    start.push(end - 1);
    // Largest batches first, so ties keep fewer runs. The first text of a batch is its longest.
    for (let size = Math.min(limits.maxBatchSize, end); size >= 1; size--) {
      const padded = size * lengths[longestFirst[end - size]];
      if (size > 1 && padded > limits.maxBatchTokens) {
        continue;
      }
      if (cost[end - size] + padded + runCost < cost[end]) {
        cost[end] = cost[end - size] + padded + runCost;
        start[end] = end - size;
      }
    }
  }
  const batches: number[][] = [];
  for (let end = longestFirst.length; end > 0; end = start[end]) {
    batches.push(longestFirst.slice(start[end], end));
  }
  return batches.reverse();
}

/** Right-pads the texts to the batch's longest; the attention mask is 1 for real tokens and 0 for padding. */
export function padBatch(texts: TokenizedText[], textIndexes: number[], padId: number): TokenBatch {
  const batchSize = textIndexes.length;
  const sequenceLength = Math.max(...textIndexes.map((index) => texts[index].ids.length));
  const inputIds = new BigInt64Array(batchSize * sequenceLength).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(batchSize * sequenceLength);
  const tokenTypeIds = new BigInt64Array(batchSize * sequenceLength);
  textIndexes.forEach((textIndex, row) => {
    const { ids, typeIds } = texts[textIndex];
    for (let position = 0; position < ids.length; position++) {
      const offset = row * sequenceLength + position;
      inputIds[offset] = BigInt(ids[position]);
      attentionMask[offset] = 1n;
      tokenTypeIds[offset] = BigInt(typeIds[position]);
    }
  });
  return { textIndexes, batchSize, sequenceLength, inputIds, attentionMask, tokenTypeIds };
}
