import { sleep } from '../../../common/backoff';
import { EmbeddingErrorCode } from '../../embedding.errors';
import { chunkIndexes, refusalErrors, sendIsolatingRefusals, SendPart, splitRefused } from './refusal-isolation';
import { RemoteRequestError } from './remote-request-error';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sorted = (values: Iterable<number>) => [...values].sort((a, b) => a - b);

/** A remote stand-in: refuses whole requests the way TEI and OpenAI-compatible APIs do, records what it answered. */
function fakeRemote(rules: {
  maxBatch?: number;
  limitNamed?: boolean;
  bad?: number[];
  badKind?: 'input' | 'too-large';
}) {
  const requests: number[][] = [];
  const answered = new Set<number>();
  const send: SendPart = async (indexes) => {
    requests.push(indexes);
    if (rules.maxBatch && indexes.length > rules.maxBatch) {
      const said = rules.limitNamed
        ? `batch size ${indexes.length} > maximum allowed batch size ${rules.maxBatch}`
        : 'length limit exceeded';
      throw new RemoteRequestError(`answered 413 (${said})`, 'too-large', {
        status: 413,
        maxInputs: rules.limitNamed ? rules.maxBatch : undefined,
      });
    }
    const bad = indexes.find((index) => rules.bad?.includes(index));
    if (bad !== undefined) {
      const kind = rules.badKind ?? 'input';
      throw new RemoteRequestError('answered 413 (validation: Input validation error: too long)', kind, {
        status: 413,
      });
    }
    indexes.forEach((index) => answered.add(index));
  };
  return { send, requests, answered };
}

describe('chunkIndexes and splitRefused', () => {
  it('cuts indexes into consecutive runs', () => {
    expect(chunkIndexes(range(7), 3)).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(chunkIndexes([], 3)).toEqual([]);
  });

  it('halves a refused request, re-cuts it to a limit the remote named, and gives up on one input or other errors', () => {
    const input = new RemoteRequestError('x', 'input');
    expect(splitRefused(input, range(5))).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
    const named = new RemoteRequestError('x', 'too-large', { maxInputs: 2 });
    expect(splitRefused(named, range(5))).toEqual([[0, 1], [2, 3], [4]]);
    expect(splitRefused(input, [4])).toBeUndefined();
    expect(splitRefused(new RemoteRequestError('x', 'transient'), range(4))).toBeUndefined();
    expect(splitRefused(new Error('x'), range(4))).toBeUndefined();
  });
});

describe('sendIsolatingRefusals', () => {
  it('sends every planned request, each once', async () => {
    const remote = fakeRemote({});
    const refused = await sendIsolatingRefusals(chunkIndexes(range(10), 4), remote.send);
    expect(remote.requests.map((request) => request.length)).toEqual([4, 4, 2]);
    expect(sorted(remote.answered)).toEqual(range(10));
    expect(refused.size).toBe(0);
  });

  it('sends every request at once, without waiting for the previous one', async () => {
    let inFlight = 0;
    let most = 0;
    const send: SendPart = async () => {
      most = Math.max(most, ++inFlight);
      await sleep(10);
      inFlight--;
    };
    await sendIsolatingRefusals(chunkIndexes(range(32), 4), send);
    expect(most).toBe(8);
  });

  it('on a 413 for the request, splits until the remote takes it, losing and repeating nothing', async () => {
    const remote = fakeRemote({ maxBatch: 3 });
    await sendIsolatingRefusals([range(16)], remote.send);
    expect(sorted(remote.answered)).toEqual(range(16));
    const accepted = remote.requests.filter((request) => request.length <= 3);
    expect(sorted(accepted.flat())).toEqual(range(16));
  });

  it('re-cuts to the batch size the remote names, in one step, and passes the limit on', async () => {
    const remote = fakeRemote({ maxBatch: 5, limitNamed: true });
    const limits: number[] = [];
    await sendIsolatingRefusals([range(12)], remote.send, { onLimit: (limit) => limits.push(limit) });
    expect(remote.requests.map((request) => request.length)).toEqual([12, 5, 5, 2]);
    expect(remote.answered.size).toBe(12);
    expect(limits).toEqual([5]);
  });

  it('isolates each input the remote refuses (422, 413 Validation) and answers the rest', async () => {
    const remote = fakeRemote({ bad: [3, 9] });
    const refused = await sendIsolatingRefusals(chunkIndexes(range(12), 8), remote.send);
    expect(sorted(refused.keys())).toEqual([3, 9]);
    expect(refused.get(3)).toContain('Input validation error');
    expect(sorted(remote.answered)).toEqual(range(12).filter((i) => i !== 3 && i !== 9));
    // Bisection: a bad input costs about log2(request) extra requests, not one per input.
    expect(remote.requests.length).toBeLessThanOrEqual(12);
  });

  it('refuses an input that is too large on its own', async () => {
    const remote = fakeRemote({ bad: [0], badKind: 'too-large' });
    const refused = await sendIsolatingRefusals([[0, 1]], remote.send);
    expect([...refused.keys()]).toEqual([0]);
    expect([...remote.answered]).toEqual([1]);
  });

  it('rethrows other errors and aborts the requests still running', async () => {
    const aborted: number[] = [];
    const send: SendPart = (indexes, signal) => {
      if (indexes[0] === 0) return Promise.reject(new RemoteRequestError('answered 503', 'transient'));
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => (aborted.push(indexes[0]), reject(signal.reason))),
      );
    };
    await expect(sendIsolatingRefusals(chunkIndexes(range(6), 2), send)).rejects.toThrow('answered 503');
    expect(aborted.sort()).toEqual([2, 4]);
  });

  it('stops when the caller aborts', async () => {
    const abort = new AbortController();
    const send: SendPart = (_, signal) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    const running = sendIsolatingRefusals(chunkIndexes(range(4), 2), send, { signal: abort.signal });
    abort.abort(new Error('closing'));
    await expect(running).rejects.toThrow('closing');
  });
});

describe('refusalErrors', () => {
  it('names each refused input by its index, in the caller’s terms once restated', () => {
    const errors = refusalErrors('TEI', 3, new Map([[2, 'too long']]));
    const error = errors.get(2)!;
    expect(error).toMatchObject({ code: EmbeddingErrorCode.InvalidInput, field: 'texts', index: 2 });
    expect(error.message).toBe('TEI refused texts[2]: too long');
    const restated = error.inTermsOf({ text: (i) => `input[${i + 10}]`, option: (name) => name }, { index: 12 });
    expect(restated.message).toBe('TEI refused input[12]: too long');
  });

  it('fails the call when every one of several inputs was refused for the same reason', () => {
    const reasons = new Map([
      [0, 'bad request'],
      [1, 'bad request'],
    ]);
    expect(() => refusalErrors('the remote', 2, reasons)).toThrow('the remote refused every input: bad request');
    expect(refusalErrors('the remote', 1, new Map([[0, 'bad request']])).size).toBe(1);
  });
});
