/** Gives back what `acquire` took; calling it again does nothing. */
export type Release = () => void;

/**
 * A process-wide budget of bytes for work in flight (admission control): each request takes its estimated size
 * before it starts and gives it back when its answer is sent, so overload is refused early (and retried later)
 * instead of growing the heap until V8 gives up. No queue: a refused request is the caller's to retry.
 */
export class MemoryBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Bytes taken now. */
  get inUse(): number {
    return this.used;
  }

  /** Takes `bytes`, or answers undefined when that would go over the limit. */
  tryAcquire(bytes: number): Release | undefined {
    const size = Math.max(0, Math.ceil(bytes));
    if (this.used + size > this.limit) return undefined;
    this.used += size;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= size;
    };
  }
}
