import { DeliveryBatch, DeliveryError, DeliveryErrorCode, ReceiverClient } from './receiver-client';
import { IsolatingDelivery } from './isolating-delivery';

/** A receiver that refuses by rule and records what it stored; `name` says whether its refusals name the items. */
class PickyReceiver extends ReceiverClient {
  readonly stored: number[] = [];
  calls = 0;

  constructor(
    private readonly refuse: (chunkId: number) => 'bad' | 'busy' | 'broken' | undefined,
    private readonly name: boolean,
  ) {
    super();
  }

  async deliver(batch: DeliveryBatch): Promise<void> {
    this.calls++;
    const ids = batch.items.map((item) => item.chunkId);
    const bad = ids.filter((id) => this.refuse(id) === 'bad');
    if (bad.length > 0) {
      const items = this.name ? bad.map((chunkId) => ({ chunkId, message: `chunk ${chunkId} is bad` })) : [];
      throw new DeliveryError(DeliveryErrorCode.Refused, 'receiver answered 422: something is bad', items);
    }
    if (ids.some((id) => this.refuse(id) === 'broken')) {
      throw new DeliveryError(DeliveryErrorCode.Failed, 'receiver answered 500: cannot store');
    }
    if (ids.some((id) => this.refuse(id) === 'busy')) {
      throw new DeliveryError(DeliveryErrorCode.RetryLater, 'receiver answered 503: busy');
    }
    this.stored.push(...ids);
  }

  async checkReachable(): Promise<void> {}
}

const batch = (ids: number[]): DeliveryBatch => ({
  taskId: 1,
  model: 'm',
  dimensions: 1,
  items: ids.map((chunkId) => ({ chunkId, contentHash: 'h', vector: Float32Array.of(chunkId) })),
});
const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('IsolatingDelivery', () => {
  it('delivers a clean batch in one call', async () => {
    const receiver = new PickyReceiver(() => undefined, true);
    const report = await new IsolatingDelivery(receiver).deliver(batch(ids(10)));
    expect(report).toEqual({ delivered: ids(10), refused: [], retry: [] });
    expect(receiver.calls).toBe(1);
  });

  it('refuses the items the receiver names and delivers the rest again', async () => {
    const receiver = new PickyReceiver((id) => (id === 3 || id === 7 ? 'bad' : undefined), true);
    const report = await new IsolatingDelivery(receiver).deliver(batch(ids(10)));
    expect(report.refused).toEqual([
      { chunkId: 3, error: 'receiver refused: chunk 3 is bad', by: 'receiver' },
      { chunkId: 7, error: 'receiver refused: chunk 7 is bad', by: 'receiver' },
    ]);
    expect(report.delivered.sort((a, b) => a - b)).toEqual([1, 2, 4, 5, 6, 8, 9, 10]);
    expect(receiver.calls).toBe(2);
  });

  it('halves a refused batch until the bad item is alone when the receiver names none', async () => {
    const receiver = new PickyReceiver((id) => (id === 6 ? 'bad' : undefined), false);
    const report = await new IsolatingDelivery(receiver).deliver(batch(ids(16)));
    expect(report.refused).toEqual([{ chunkId: 6, error: 'receiver answered 422: something is bad', by: 'receiver' }]);
    expect(receiver.stored.sort((a, b) => a - b)).toEqual(ids(16).filter((id) => id !== 6));
    expect(receiver.calls).toBeLessThanOrEqual(1 + 2 * Math.log2(16));
  });

  it('reports what failed transiently for a later attempt, after refusing the bad item', async () => {
    const receiver = new PickyReceiver((id) => (id === 2 ? 'bad' : id >= 5 ? 'busy' : undefined), true);
    const report = await new IsolatingDelivery(receiver).deliver(batch(ids(6)));
    expect(report.refused).toEqual([{ chunkId: 2, error: 'receiver refused: chunk 2 is bad', by: 'receiver' }]);
    expect(report.retry).toEqual([
      { chunkIds: [1, 3, 4, 5, 6], error: 'receiver answered 503: busy', countsAttempt: false },
    ]);
    expect(report.delivered).toEqual([]);
  });

  it('halves a batch that gets a 500 until the failing chunk is alone: it alone is retried, as its own failure', async () => {
    const receiver = new PickyReceiver((id) => (id === 77 ? 'broken' : undefined), false);
    const report = await new IsolatingDelivery(receiver).deliver(batch(ids(256)));
    expect(report.retry).toEqual([
      { chunkIds: [77], error: 'receiver answered 500: cannot store', countsAttempt: true },
    ]);
    expect(report.refused).toEqual([]);
    expect(receiver.stored.sort((a, b) => a - b)).toEqual(ids(256).filter((id) => id !== 77));
    expect(receiver.calls).toBeLessThanOrEqual(1 + 2 * Math.log2(256));
  });

  it('finds two failing chunks in different halves', async () => {
    const receiver = new PickyReceiver((id) => (id === 3 || id === 200 ? 'broken' : undefined), false);
    const report = await new IsolatingDelivery(receiver).deliver(batch(ids(256)));
    expect(report.retry.flatMap((retry) => retry.chunkIds).sort((a, b) => a - b)).toEqual([3, 200]);
    expect(report.retry.every((retry) => retry.countsAttempt)).toBe(true);
    expect(receiver.stored).toHaveLength(254);
  });

  it('takes a receiver that fails every part as down: all go back as transient, after a bounded number of calls', async () => {
    const receiver = new PickyReceiver(() => 'broken', false);
    const report = await new IsolatingDelivery(receiver).deliver(batch(ids(256)));
    expect(report.retry.every((retry) => !retry.countsAttempt)).toBe(true);
    expect(report.retry.flatMap((retry) => retry.chunkIds).sort((a, b) => a - b)).toEqual(ids(256));
    expect(report.delivered).toEqual([]);
    expect(receiver.calls).toBe(1 + 2 + 4 + 8);
  });

  it('counts a 500 for a batch of one chunk as that chunk’s failure (nothing else can tell)', async () => {
    const receiver = new PickyReceiver(() => 'broken', false);
    const report = await new IsolatingDelivery(receiver).deliver(batch([5]));
    expect(report.retry).toEqual([
      { chunkIds: [5], error: 'receiver answered 500: cannot store', countsAttempt: true },
    ]);
  });
});
