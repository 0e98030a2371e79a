import { TokenizedText } from './text-tokenizer';

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
 * Groups text indexes into batches of similar length, longest first, so little compute goes to padding.
 * A batch closes when one more text would exceed either limit; a text over the token budget runs alone.
 */
export function planBatches(lengths: number[], limits: BatchLimits): number[][] {
  const longestFirst = lengths.map((_, index) => index).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  for (const index of longestFirst) {
    // The first text of a batch is its longest, so it fixes the padded length.
    const paddedTokens = (current.length + 1) * lengths[current[0] ?? index];
    if (current.length > 0 && (paddedTokens > limits.maxBatchTokens || current.length >= limits.maxBatchSize)) {
      batches.push(current);
      current = [];
    }
    current.push(index);
  }
  return current.length > 0 ? [...batches, current] : batches;
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
