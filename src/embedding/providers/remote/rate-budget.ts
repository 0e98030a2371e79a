import { RateLimitHeaders } from './rate-limit-headers';

export interface RateBudgetLimits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** Requests in flight at once. */
  concurrency: number;
}

/** A request's place in the budget: say what it really cost when it ends (releases its concurrency slot). */
export interface BudgetPermit {
  /** `tokens`: what the remote counted (its usage), or what it may have counted; 0 when it refused the request. */
  finish(tokens: number): void;
}

/** The limits in force now, what the remote said, and what waiting cost so far. */
export interface RateBudgetSnapshot {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  concurrency: number;
  inFlight: number;
  queued: number;
  /** Times the remote's headers lowered a limit below the configured one. */
  lowered: number;
  waitedMs: number;
}

/** How much of a minute's allowance may go out at once: one second's worth (or one request bigger than that). */
const BURST_MS = 1000;

/**
 * A token bucket: refills continuously at `perMinute`, holds at most BURST_MS worth. A take larger than the bucket
 * waits for a full bucket and leaves it in debt, so the long-run rate never exceeds the limit, whatever the sizes.
 */
class Bucket {
  private level: number;
  private updatedAt: number;

  constructor(
    private perMinute: number,
    private readonly now: () => number,
  ) {
    this.level = this.capacity;
    this.updatedAt = now();
  }

  get limit(): number {
    return this.perMinute;
  }

  private get capacity(): number {
    return Math.max(1, (this.perMinute * BURST_MS) / 60_000);
  }

  /** Milliseconds until `amount` may be taken (0: now). */
  waitFor(amount: number): number {
    this.refill();
    const needed = Math.min(amount, this.capacity);
    return this.level >= needed ? 0 : ((needed - this.level) * 60_000) / this.perMinute;
  }

  take(amount: number): void {
    this.refill();
    this.level -= amount;
  }

  /** What a request really cost, once known: the difference to what was taken. */
  correct(difference: number): void {
    this.refill();
    this.level = Math.min(this.capacity, this.level - difference);
  }

  /** The remote says less is left than this bucket holds: believe it. */
  atMost(remaining: number): void {
    this.refill();
    this.level = Math.min(this.level, remaining);
  }

  setLimit(perMinute: number): void {
    this.refill();
    this.perMinute = perMinute;
    this.level = Math.min(this.level, this.capacity);
  }

  private refill(): void {
    const now = this.now();
    this.level = Math.min(this.capacity, this.level + ((now - this.updatedAt) * this.perMinute) / 60_000);
    this.updatedAt = now;
  }
}

interface Waiter {
  tokens: number;
  grant: (permit: BudgetPermit) => void;
  enqueuedAt: number;
}

/**
 * The client side of a remote's rate limits: requests per minute, tokens per minute and requests in flight. Every
 * request waits here, first come first served, until all three allow it, so a sender stays under the budget instead
 * of provoking 429s. Token counts are estimates when a request leaves and corrected by the remote's usage when it
 * answers. The remote's `x-ratelimit-*` headers lower a limit below the configured one (or set one where none is
 * configured) and cap what is left; a 429 pauses everyone until the remote's Retry-After.
 */
export class RateBudget {
  private requests?: Bucket;
  private tokens?: Bucket;
  private active = 0;
  private readonly queue: Waiter[] = [];
  private pausedUntil = 0;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private lowered = 0;
  private waitedMs = 0;

  constructor(
    private readonly configured: RateBudgetLimits,
    private readonly now: () => number = () => performance.now(),
    private readonly onLowered?: (message: string) => void,
  ) {
    if (configured.requestsPerMinute) this.requests = new Bucket(configured.requestsPerMinute, now);
    if (configured.tokensPerMinute) this.tokens = new Bucket(configured.tokensPerMinute, now);
  }

  snapshot(): RateBudgetSnapshot {
    return {
      requestsPerMinute: this.requests?.limit,
      tokensPerMinute: this.tokens?.limit,
      concurrency: this.configured.concurrency,
      inFlight: this.active,
      queued: this.queue.length,
      lowered: this.lowered,
      waitedMs: Math.round(this.waitedMs),
    };
  }

  /** Waits for room for one request of about `tokens` tokens; rejects with the signal's reason when aborted. */
  acquire(tokens: number, signal?: AbortSignal): Promise<BudgetPermit> {
    signal?.throwIfAborted();
    return new Promise<BudgetPermit>((resolve, reject) => {
      const waiter: Waiter = {
        tokens,
        enqueuedAt: this.now(),
        grant: (permit) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(permit);
        },
      };
      const onAbort = () => {
        const index = this.queue.indexOf(waiter);
        if (index >= 0) this.queue.splice(index, 1);
        reject(signal!.reason);
        this.pump();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.pump();
    });
  }

  /** The remote answered 429: nobody sends before `ms` from now, and nothing is left of the current allowance. */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
    this.tokens?.atMost(0);
    this.requests?.atMost(0);
    this.pump();
  }

  /** Follows the remote's x-ratelimit-* headers: a lower limit than configured wins; what is left caps the buckets. */
  observe(headers: RateLimitHeaders | undefined): void {
    if (!headers) return;
    this.requests = this.adapt(this.requests, headers.limitRequests, this.configured.requestsPerMinute, 'requests');
    this.tokens = this.adapt(this.tokens, headers.limitTokens, this.configured.tokensPerMinute, 'tokens');
    if (headers.remainingRequests !== undefined) this.requests?.atMost(headers.remainingRequests);
    if (headers.remainingTokens !== undefined) this.tokens?.atMost(headers.remainingTokens);
  }

  private adapt(bucket: Bucket | undefined, said: number | undefined, configured: number | undefined, what: string) {
    if (said === undefined || said <= 0) return bucket;
    const limit = Math.min(said, configured ?? Infinity);
    if (!bucket) {
      this.onLowered?.(`the remote allows ${said} ${what} per minute: keeping to it`);
      return new Bucket(limit, this.now);
    }
    if (limit === bucket.limit) return bucket;
    if (limit < bucket.limit) {
      this.lowered++;
      this.onLowered?.(
        `the remote lowered its limit to ${said} ${what} per minute (was ${bucket.limit}): keeping to it`,
      );
    }
    bucket.setLimit(limit);
    return bucket;
  }

  /** Grants waiters in order while everything allows; otherwise wakes up when the first one may go. */
  private pump(): void {
    while (this.queue.length > 0 && this.active < this.configured.concurrency) {
      const head = this.queue[0];
      const wait = Math.max(
        this.pausedUntil - this.now(),
        this.requests?.waitFor(1) ?? 0,
        this.tokens?.waitFor(head.tokens) ?? 0,
      );
      if (wait > 0) return this.wakeIn(wait);
      this.queue.shift();
      this.waitedMs += this.now() - head.enqueuedAt;
      head.grant(this.take(head.tokens));
    }
  }

  private take(estimate: number): BudgetPermit {
    this.active++;
    this.requests?.take(1);
    this.tokens?.take(estimate);
    let finished = false;
    return {
      finish: (tokens) => {
        if (finished) return;
        finished = true;
        this.active--;
        this.tokens?.correct(tokens - estimate);
        this.pump();
      },
    };
  }

  private wakeIn(ms: number): void {
    const at = this.now() + ms;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pump();
    }, Math.ceil(ms));
    this.timer.unref?.();
  }
}
