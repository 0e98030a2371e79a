import { BudgetPermit, RateBudget } from './rate-budget';

/** Lets granted acquisitions settle. */
const settle = () => new Promise((resolve) => jest.requireActual('node:timers').setImmediate(resolve));

describe('RateBudget', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());
  const clock = () => Date.now();

  /** Sends `count` requests of `tokens` each, finishing each at once with its estimate; answers when each went. */
  async function sendTimes(budget: RateBudget, count: number, tokens: number, advanceMs: number): Promise<number[]> {
    const start = Date.now();
    const sentAt: number[] = [];
    const all = Array.from({ length: count }, () =>
      budget.acquire(tokens).then((permit) => {
        sentAt.push(Date.now() - start);
        permit.finish(tokens);
      }),
    );
    await jest.advanceTimersByTimeAsync(advanceMs);
    await Promise.all(all);
    return sentAt;
  }

  it('paces requests to the requests-per-minute limit after a burst of one second’s worth', async () => {
    const budget = new RateBudget({ requestsPerMinute: 600, concurrency: 100 }, clock);
    const sentAt = await sendTimes(budget, 30, 1, 5_000);
    // 600/min = 10/s: 10 at once (the burst), then one every 100 ms.
    expect(sentAt.filter((at) => at === 0)).toHaveLength(10);
    expect(sentAt[29]).toBeGreaterThanOrEqual(1_900);
    expect(sentAt[29]).toBeLessThanOrEqual(2_100);
  });

  it('paces tokens to the tokens-per-minute limit, a request larger than a second’s worth going into debt', async () => {
    const budget = new RateBudget({ tokensPerMinute: 60_000, concurrency: 100 }, clock);
    // 1,000 tokens/s; requests of 2,500 tokens: the first at once, then one every 2.5 s.
    const sentAt = await sendTimes(budget, 5, 2_500, 20_000);
    expect(sentAt[0]).toBe(0);
    const gaps = sentAt.slice(1).map((at, index) => at - sentAt[index]);
    gaps.forEach((gap) => expect(gap).toBeGreaterThanOrEqual(2_400));
    // 12,500 tokens in about 11.5 s: never over the minute's rate plus one request.
    expect(sentAt[4]).toBeGreaterThanOrEqual(9_500);
  });

  it('corrects an estimate with what the remote counted', async () => {
    const budget = new RateBudget({ tokensPerMinute: 60_000, concurrency: 10 }, clock);
    const first = await budget.acquire(100);
    // The bucket held 1,000 (one second's worth) and took 100; 3,000 more than estimated leaves it at -2,100, so the
    // next 100 tokens wait 2.2 s.
    first.finish(3_100);
    let granted = false;
    void budget.acquire(100).then((permit) => ((granted = true), permit.finish(100)));
    await jest.advanceTimersByTimeAsync(2_100);
    expect(granted).toBe(false);
    await jest.advanceTimersByTimeAsync(200);
    expect(granted).toBe(true);
  });

  it('keeps to its concurrency, first come first served', async () => {
    const budget = new RateBudget({ concurrency: 2 }, clock);
    const held = [await budget.acquire(1), await budget.acquire(1)];
    const order: number[] = [];
    const waiting = [1, 2].map((n) => budget.acquire(1).then((permit) => (order.push(n), permit)));
    await settle();
    expect(budget.snapshot()).toMatchObject({ inFlight: 2, queued: 2 });
    held[0].finish(1);
    await settle();
    expect(order).toEqual([1]);
    held[1].finish(1);
    (await Promise.all(waiting)).forEach((permit: BudgetPermit) => permit.finish(1));
    expect(order).toEqual([1, 2]);
    expect(budget.snapshot().inFlight).toBe(0);
  });

  it('after a 429, nobody sends before the pause is over', async () => {
    const budget = new RateBudget({ concurrency: 4 }, clock);
    budget.pause(3_000);
    let granted = false;
    void budget.acquire(1).then((permit) => ((granted = true), permit.finish(1)));
    await jest.advanceTimersByTimeAsync(2_900);
    expect(granted).toBe(false);
    await jest.advanceTimersByTimeAsync(200);
    expect(granted).toBe(true);
  });

  it('lowers its limits to what the remote’s headers say, and takes them where none is configured', async () => {
    const lowered: string[] = [];
    const budget = new RateBudget({ tokensPerMinute: 100_000, concurrency: 4 }, clock, (line) => lowered.push(line));
    budget.observe({ limitTokens: 40_000, limitRequests: 500 });
    expect(budget.snapshot()).toMatchObject({ tokensPerMinute: 40_000, requestsPerMinute: 500, lowered: 1 });
    expect(lowered.join('\n')).toMatch(/lowered its limit to 40000 tokens per minute \(was 100000\)/);
    // A higher limit than configured is not taken; the configured one comes back.
    budget.observe({ limitTokens: 200_000 });
    expect(budget.snapshot().tokensPerMinute).toBe(100_000);
  });

  it('believes the remote when it says less is left than the bucket holds', async () => {
    const budget = new RateBudget({ tokensPerMinute: 60_000, concurrency: 4 }, clock);
    budget.observe({ remainingTokens: 0 });
    let granted = false;
    void budget.acquire(500).then((permit) => ((granted = true), permit.finish(500)));
    await jest.advanceTimersByTimeAsync(400);
    expect(granted).toBe(false);
    await jest.advanceTimersByTimeAsync(200);
    expect(granted).toBe(true);
  });

  it('an aborted wait leaves the queue and rejects with the reason', async () => {
    const budget = new RateBudget({ concurrency: 1 }, clock);
    const held = await budget.acquire(1);
    const abort = new AbortController();
    const waiting = budget.acquire(1, abort.signal);
    abort.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    expect(budget.snapshot().queued).toBe(0);
    held.finish(1);
  });
});
