import { RunLane, RunScheduler } from './run-scheduler';

describe('RunScheduler', () => {
  /** A run that records its start and ends after a tick, so others queue behind it. */
  function recorder(scheduler: RunScheduler, order: string[]) {
    return (name: string, lane: RunLane) =>
      scheduler.run(async () => {
        order.push(name);
        await new Promise((resolve) => setImmediate(resolve));
        return name;
      }, lane);
  }

  it('runs one task at a time, in arrival order within a lane', async () => {
    const scheduler = new RunScheduler();
    let running = 0;
    let most = 0;
    const task = () =>
      scheduler.run(async () => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
      });
    await Promise.all([task(), task(), task()]);
    expect(most).toBe(1);
  });

  it('runs background calls whole and in order, taking turns with interactive runs', async () => {
    const scheduler = new RunScheduler();
    const order: string[] = [];
    const run = recorder(scheduler, order);
    // Two background calls submit all their runs at once; an interactive call submits its runs one by one.
    const background = [
      run('a1', 'background'),
      run('a2', 'background'),
      run('b1', 'background'),
      run('b2', 'background'),
    ];
    const interactive = (async () => {
      await run('i1', 'interactive');
      await run('i2', 'interactive');
    })();
    await Promise.all([...background, interactive]);
    expect(order.filter((name) => !name.startsWith('i'))).toEqual(['a1', 'a2', 'b1', 'b2']);
    expect(order.indexOf('i1')).toBeLessThanOrEqual(1);
    expect(order.indexOf('i2') - order.indexOf('i1')).toBeLessThanOrEqual(2);
  });

  it('passes failures to the caller and goes on with the next task', async () => {
    const scheduler = new RunScheduler();
    const failing = scheduler.run(async () => {
      throw new Error('boom');
    });
    const throwing = scheduler.run((): Promise<string> => {
      throw new Error('sync boom');
    });
    await expect(failing).rejects.toThrow('boom');
    await expect(throwing).rejects.toThrow('sync boom');
    await expect(scheduler.run(async () => 'next', 'background')).resolves.toBe('next');
    await expect(scheduler.idle()).resolves.toBeUndefined();
  });
});
