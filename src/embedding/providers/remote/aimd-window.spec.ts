import { AimdWindow, WindowSlot } from './aimd-window';

async function fill(window: AimdWindow, count: number): Promise<WindowSlot[]> {
  return Promise.all(Array.from({ length: count }, () => window.acquire()));
}

/** Lets granted acquisitions settle. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('AimdWindow', () => {
  it('starts at its maximum and lets that many requests in, queueing the rest first come first served', async () => {
    const window = new AimdWindow({ max: 3 });
    const slots = await fill(window, 3);
    expect(window.snapshot()).toMatchObject({ size: 3, max: 3, inFlight: 3, queued: 0 });
    const order: number[] = [];
    const waiting = [1, 2].map((n) => window.acquire().then((slot) => (order.push(n), slot)));
    await tick();
    expect(window.snapshot()).toMatchObject({ inFlight: 3, queued: 2 });
    slots[0].release('success');
    await tick();
    expect(order).toEqual([1]);
    slots[1].release('success');
    await tick();
    expect(order).toEqual([1, 2]);
    (await Promise.all(waiting)).forEach((slot) => slot.release('success'));
    slots[2].release('success');
    expect(window.inFlight).toBe(0);
  });

  it('halves on congestion, once per round trip: a burst of 429s from requests already in flight counts once', async () => {
    const window = new AimdWindow({ max: 8 });
    const slots = await fill(window, 8);
    slots.forEach((slot) => slot.release('congestion'));
    expect(window.snapshot()).toMatchObject({ size: 4, decreases: 1, lowest: 4 });
    const next = await fill(window, 4);
    next.forEach((slot) => slot.release('congestion'));
    expect(window.snapshot()).toMatchObject({ size: 2, decreases: 2, lowest: 2 });
  });

  it('never shrinks below its minimum', async () => {
    const window = new AimdWindow({ max: 4, min: 1 });
    for (let round = 0; round < 10; round++) (await window.acquire()).release('congestion');
    expect(window.size).toBe(1);
  });

  it('grows back by about one slot per window of successes, up to its maximum', async () => {
    const window = new AimdWindow({ max: 8 });
    (await window.acquire()).release('congestion');
    (await window.acquire()).release('congestion');
    expect(window.size).toBe(2);
    let successes = 0;
    while (window.size < 8) {
      (await window.acquire()).release('success');
      successes++;
    }
    // From 2 to 8: about 2 + 3 + … + 7 successes (one window's worth per step), not one success per step.
    expect(successes).toBeGreaterThanOrEqual(20);
    expect(successes).toBeLessThanOrEqual(35);
    for (let n = 0; n < 50; n++) (await window.acquire()).release('success');
    expect(window.size).toBe(8);
  });

  it('lets fewer in after a decrease, and wakes waiters as the window grows again', async () => {
    const window = new AimdWindow({ max: 4 });
    const slots = await fill(window, 4);
    slots[0].release('congestion');
    expect(window.size).toBe(2);
    slots[1].release('neutral');
    slots[2].release('neutral');
    expect(window.inFlight).toBe(1);
    const granted = jest.fn();
    void window.acquire().then(granted);
    await tick();
    expect(granted).toHaveBeenCalled();
    expect(window.inFlight).toBe(2);
  });

  it('a neutral outcome (an error that is not congestion) leaves the size alone; release is idempotent', async () => {
    const window = new AimdWindow({ max: 2 });
    const slot = await window.acquire();
    slot.release('neutral');
    slot.release('congestion');
    expect(window.snapshot()).toMatchObject({ size: 2, inFlight: 0, decreases: 0 });
  });

  it('an aborted wait leaves the queue and rejects with the reason', async () => {
    const window = new AimdWindow({ max: 1 });
    const held = await window.acquire();
    const abort = new AbortController();
    const waiting = window.acquire(abort.signal);
    abort.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    expect(window.snapshot().queued).toBe(0);
    held.release('success');
    expect(window.inFlight).toBe(0);
  });

  it('refuses a maximum below its minimum', () => {
    expect(() => new AimdWindow({ max: 0 })).toThrow(RangeError);
  });
});
