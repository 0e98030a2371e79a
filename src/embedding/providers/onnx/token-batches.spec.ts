import { TokenizedText } from '../tokenizer/tokenized-text';
import { padBatch, planBatches, runCostTokens } from './token-batches';

describe(planBatches.name, () => {
  const lengths = [5, 40, 12, 40, 3, 18, 7, 64, 9, 20];

  it('uses every text exactly once', () => {
    const batches = planBatches(lengths, { maxBatchTokens: 100, maxBatchSize: 3 });
    expect(batches.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, index) => index));
  });

  it('keeps padded tokens under the budget and batches under the size limit', () => {
    const batches = planBatches(lengths, { maxBatchTokens: 100, maxBatchSize: 3 });
    for (const batch of batches) {
      const longest = Math.max(...batch.map((index) => lengths[index]));
      expect(batch.length).toBeLessThanOrEqual(3);
      expect(batch.length === 1 || batch.length * longest <= 100).toBe(true);
    }
  });

  it('groups similar lengths, longest first, cutting where padding plus the cost per run is least', () => {
    // Sorted: 64 40 40 20 18 12 9 7 5 3. With runs this dear, three batches; 3-3-4 pads least (288 tokens).
    expect(planBatches(lengths, { maxBatchTokens: 1000, maxBatchSize: 4 }, 1000)).toEqual([
      [7, 1, 3],
      [9, 5, 2],
      [8, 6, 0, 4],
    ]);
  });

  it('pads nothing when runs cost nothing, keeping equal lengths together', () => {
    expect(planBatches(lengths, { maxBatchTokens: 1000, maxBatchSize: 4 }, 0)).toEqual([
      [7],
      [1, 3],
      [9],
      [5],
      [2],
      [8],
      [6],
      [0],
      [4],
    ]);
  });

  it('on CPU, trades a few more runs for much less padding', () => {
    const mixed = Array.from({ length: 64 }, (_, index) => 10 + ((index * 37) % 240));
    const padded = (batches: number[][]) =>
      batches.reduce((total, batch) => total + batch.length * Math.max(...batch.map((index) => mixed[index])), 0);
    const limits = { maxBatchTokens: 8192, maxBatchSize: 32 };
    const fewestRuns = planBatches(mixed, limits, runCostTokens('cuda', limits));
    const cpu = planBatches(mixed, limits, runCostTokens('cpu', limits));
    expect(fewestRuns).toHaveLength(2);
    expect(padded(cpu)).toBeLessThan(padded(fewestRuns) * 0.8);
    expect(cpu.flat().sort((a, b) => a - b)).toEqual(mixed.map((_, index) => index));
  });

  it('runs a text longer than the budget alone rather than dropping it', () => {
    expect(planBatches([500, 2, 2], { maxBatchTokens: 100, maxBatchSize: 8 })).toEqual([[0], [1, 2]]);
  });
});

describe(padBatch.name, () => {
  const text = (ids: number[]): TokenizedText => ({ ids, typeIds: ids.map(() => 0), closingSpecialTokens: 1 });

  it('right-pads with the pad id and masks the padding', () => {
    const batch = padBatch([text([2, 10, 3]), text([2, 11, 12, 13, 3])], [1, 0], 0);
    expect(batch).toMatchObject({ textIndexes: [1, 0], batchSize: 2, sequenceLength: 5 });
    expect([...batch.inputIds].map(Number)).toEqual([2, 11, 12, 13, 3, 2, 10, 3, 0, 0]);
    expect([...batch.attentionMask].map(Number)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  });
});
