import { Slots } from './slots';

describe('Slots', () => {
  it('runs at most `size` at once, the others in arrival order as slots free up', async () => {
    const slots = new Slots(2);
    const started: number[] = [];
    const finish = new Map<number, () => void>();
    const job = (n: number) =>
      slots.run(async () => {
        started.push(n);
        await new Promise<void>((resolve) => finish.set(n, resolve));
        return n;
      });
    const jobs = [1, 2, 3, 4].map(job);
    await Promise.resolve();
    expect(started).toEqual([1, 2]);
    finish.get(2)!();
    await jobs[1];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1, 2, 3]);
    finish.get(1)!();
    finish.get(3)!();
    await Promise.all([jobs[0], jobs[2]]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1, 2, 3, 4]);
    finish.get(4)!();
    expect(await Promise.all(jobs)).toEqual([1, 2, 3, 4]);
  });

  it('frees the slot when the work throws', async () => {
    const slots = new Slots(1);
    await expect(slots.run(async () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await slots.run(async () => 'next')).toBe('next');
  });
});
