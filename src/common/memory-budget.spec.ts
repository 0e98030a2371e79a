import { MemoryBudget } from './memory-budget';

describe('MemoryBudget', () => {
  it('admits work up to its limit and refuses what would go over it', () => {
    const budget = new MemoryBudget(100);
    const first = budget.tryAcquire(60);
    expect(first).toBeDefined();
    expect(budget.tryAcquire(41)).toBeUndefined();
    expect(budget.tryAcquire(40)).toBeDefined();
    expect(budget.inUse).toBe(100);
  });

  it('takes back what a release gives, once however often it is called', () => {
    const budget = new MemoryBudget(100);
    const release = budget.tryAcquire(70)!;
    release();
    release();
    expect(budget.inUse).toBe(0);
    expect(budget.tryAcquire(100)).toBeDefined();
  });

  it('refuses work larger than the whole budget even when idle', () => {
    expect(new MemoryBudget(10).tryAcquire(11)).toBeUndefined();
  });
});
