export interface AimdWindowOptions {
  /** The most requests in flight: the window never grows past it. */
  max: number;
  /** The fewest (default 1): the window never shrinks below it, so work always moves. */
  min?: number;
  /** What a congestion signal multiplies the window by (default 0.5). */
  decreaseFactor?: number;
}

/** How a request that held a slot ended, for the window's next size. */
export type SlotOutcome = 'success' | 'congestion' | 'neutral';

export interface AimdWindowSnapshot {
  /** Requests allowed in flight now. */
  size: number;
  max: number;
  inFlight: number;
  queued: number;
  /** Multiplicative decreases so far, and the smallest size the window has had. */
  decreases: number;
  lowest: number;
}

export interface WindowSlot {
  /** Idempotent: only the first call counts. */
  release(outcome: SlotOutcome): void;
}

/**
 * An in-flight window sized by AIMD, as TCP does: every success grows it by 1/size (about one slot per window's
 * worth of successes), a congestion signal (429, a timeout) halves it. Only one decrease per round trip: a signal
 * from a request that started before the last decrease says nothing new, so a burst of 429s from requests already
 * in flight shrinks the window once, not down to its floor.
 */
export class AimdWindow {
  private current: number;
  private active = 0;
  private epoch = 0;
  private decreaseCount = 0;
  private lowestSize: number;
  private readonly waiters: { grant: () => void }[] = [];
  private readonly min: number;
  private readonly factor: number;

  constructor(private readonly options: AimdWindowOptions) {
    this.min = options.min ?? 1;
    this.factor = options.decreaseFactor ?? 0.5;
    if (!Number.isInteger(options.max) || options.max < this.min || this.min < 1) {
      throw new RangeError(`window max must be an integer >= ${this.min}, got ${options.max}`);
    }
    if (!(this.factor > 0 && this.factor < 1)) {
      throw new RangeError(`decreaseFactor must be between 0 and 1, got ${this.factor}`);
    }
    this.current = options.max;
    this.lowestSize = options.max;
  }

  get size(): number {
    return Math.floor(this.current);
  }

  get max(): number {
    return this.options.max;
  }

  get inFlight(): number {
    return this.active;
  }

  snapshot(): AimdWindowSnapshot {
    return {
      size: this.size,
      max: this.max,
      inFlight: this.active,
      queued: this.waiters.length,
      decreases: this.decreaseCount,
      lowest: this.lowestSize,
    };
  }

  /** Waits, first come first served, until the window has room; rejects with the signal's reason when aborted. */
  acquire(signal?: AbortSignal): Promise<WindowSlot> {
    signal?.throwIfAborted();
    if (this.active < this.size && this.waiters.length === 0) return Promise.resolve(this.take());
    return new Promise<WindowSlot>((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.take());
        },
      };
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private take(): WindowSlot {
    this.active++;
    const startedIn = this.epoch;
    let released = false;
    return {
      release: (outcome) => {
        if (released) return;
        released = true;
        this.active--;
        this.adjust(outcome, startedIn);
        this.grantWaiting();
      },
    };
  }

  private adjust(outcome: SlotOutcome, startedIn: number): void {
    if (outcome === 'success') {
      this.current = Math.min(this.max, this.current + 1 / this.current);
    } else if (outcome === 'congestion' && startedIn === this.epoch) {
      this.current = Math.max(this.min, this.current * this.factor);
      this.epoch++;
      this.decreaseCount++;
      this.lowestSize = Math.min(this.lowestSize, this.size);
    }
  }

  private grantWaiting(): void {
    while (this.waiters.length > 0 && this.active < this.size) {
      this.waiters.shift()!.grant();
    }
  }
}
