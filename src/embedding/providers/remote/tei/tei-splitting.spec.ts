import { sleep } from '../../../../common/backoff';
import { TeiRequestError } from './tei-client';
import { chunkIndexes, embedSplitting, SendBatch, splitFor } from './tei-splitting';

const vectorOf = (index: number) => Float32Array.of(index);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A TEI stand-in: refuses whole batches the way TEI does, records every batch it was sent. */
function fakeTei(rules: { maxBatch?: number; limitNamed?: boolean; bad?: number[]; badKind?: 'input' | 'too-large' }) {
  const batches: number[][] = [];
  const send: SendBatch = async (indexes) => {
    batches.push(indexes);
    if (rules.maxBatch && indexes.length > rules.maxBatch) {
      const said = rules.limitNamed
        ? `batch size ${indexes.length} > maximum allowed batch size ${rules.maxBatch}`
        : 'length limit exceeded';
      throw new TeiRequestError(`TEI answered 413 (${said})`, 'too-large', {
        status: 413,
        maxBatchSize: rules.limitNamed ? rules.maxBatch : undefined,
      });
    }
    const bad = indexes.find((index) => rules.bad?.includes(index));
    if (bad !== undefined) {
      throw new TeiRequestError(
        'TEI answered 413 (validation: Input validation error: too long)',
        rules.badKind ?? 'input',
        { status: 413 },
      );
    }
    return indexes.map(vectorOf);
  };
  return { send, batches };
}

describe('chunkIndexes and splitFor', () => {
  it('cuts indexes into consecutive runs', () => {
    expect(chunkIndexes(range(7), 3)).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(chunkIndexes([], 3)).toEqual([]);
  });

  it('halves a refused batch, re-cuts it to a limit TEI named, and gives up on one input or other errors', () => {
    const input = new TeiRequestError('x', 'input');
    expect(splitFor(input, range(5))).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
    const named = new TeiRequestError('x', 'too-large', { maxBatchSize: 2 });
    expect(splitFor(named, range(5))).toEqual([[0, 1], [2, 3], [4]]);
    expect(splitFor(input, [4])).toBeUndefined();
    expect(splitFor(new TeiRequestError('x', 'transient'), range(4))).toBeUndefined();
    expect(splitFor(new Error('x'), range(4))).toBeUndefined();
  });
});

describe('embedSplitting', () => {
  it('sends batches of at most the batch size and puts every vector under its index', async () => {
    const tei = fakeTei({});
    const result = await embedSplitting(range(10), 4, tei.send);
    expect(tei.batches.map((batch) => batch.length)).toEqual([4, 4, 2]);
    expect([...result.vectors.keys()].sort((a, b) => a - b)).toEqual(range(10));
    expect(result.vectors.get(7)).toEqual(vectorOf(7));
    expect(result.refused.size).toBe(0);
  });

  it('sends every batch at once, without waiting for the previous one', async () => {
    let inFlight = 0;
    let most = 0;
    const send: SendBatch = async (indexes) => {
      most = Math.max(most, ++inFlight);
      await sleep(10);
      inFlight--;
      return indexes.map(vectorOf);
    };
    await embedSplitting(range(32), 4, send);
    expect(most).toBe(8);
  });

  it('on a 413 for the batch, splits until TEI takes it, losing and repeating nothing', async () => {
    const tei = fakeTei({ maxBatch: 3 });
    const result = await embedSplitting(range(16), 16, tei.send);
    expect([...result.vectors.keys()].sort((a, b) => a - b)).toEqual(range(16));
    const accepted = tei.batches.filter((batch) => batch.length <= 3);
    expect(accepted.flat().sort((a, b) => a - b)).toEqual(range(16));
  });

  it('re-cuts to the batch size TEI names, in one step', async () => {
    const tei = fakeTei({ maxBatch: 5, limitNamed: true });
    const result = await embedSplitting(range(12), 12, tei.send);
    expect(tei.batches.map((batch) => batch.length)).toEqual([12, 5, 5, 2]);
    expect(result.vectors.size).toBe(12);
  });

  it('isolates each input TEI refuses (422, 413 Validation) and embeds the rest', async () => {
    const tei = fakeTei({ bad: [3, 9] });
    const result = await embedSplitting(range(12), 8, tei.send);
    expect([...result.refused.keys()].sort((a, b) => a - b)).toEqual([3, 9]);
    expect(result.refused.get(3)).toContain('Input validation error');
    expect([...result.vectors.keys()].sort((a, b) => a - b)).toEqual(range(12).filter((i) => i !== 3 && i !== 9));
    // Bisection: a bad input costs about log2(batch) extra requests, not one per input.
    expect(tei.batches.length).toBeLessThanOrEqual(12);
  });

  it('refuses an input that is too large on its own', async () => {
    const tei = fakeTei({ bad: [0], badKind: 'too-large' });
    const result = await embedSplitting([0, 1], 2, tei.send);
    expect([...result.refused.keys()]).toEqual([0]);
    expect([...result.vectors.keys()]).toEqual([1]);
  });

  it('rethrows other errors and aborts the batches still running', async () => {
    const aborted: number[] = [];
    const send: SendBatch = (indexes, signal) => {
      if (indexes[0] === 0) return Promise.reject(new TeiRequestError('TEI answered 503', 'transient'));
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => (aborted.push(indexes[0]), reject(signal.reason))),
      );
    };
    await expect(embedSplitting(range(6), 2, send)).rejects.toThrow('TEI answered 503');
    expect(aborted.sort()).toEqual([2, 4]);
  });

  it('stops when the caller aborts', async () => {
    const abort = new AbortController();
    const send: SendBatch = (_, signal) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    const running = embedSplitting(range(4), 2, send, abort.signal);
    abort.abort(new Error('closing'));
    await expect(running).rejects.toThrow('closing');
  });
});
