import { backoffMs } from '../../../common/backoff';
import { AimdWindow } from './aimd-window';
import { RateBudget } from './rate-budget';
import { RateLimitHeaders } from './rate-limit-headers';
import { RemoteRequestError } from './remote-request-error';

/** How one request ended, for the limiter that let it go. */
export interface RequestEnd {
  /** The remote answered. */
  answered: boolean;
  /** The remote failed the request (undefined when it answered, or the request was aborted or broke otherwise). */
  failure?: RemoteRequestError;
  /** What the answer really cost, where the remote said (its usage). */
  cost?: number;
  /** What the remote said about its rate limits. */
  limits?: RateLimitHeaders;
}

/** A request's place in the limiter; `done` gives it back, telling how the request ended. */
export interface LimiterPermit {
  done(end: RequestEnd): void;
}

/**
 * What paces a remote back end's requests: RemoteSender asks it before each try and tells it how each ended. Two
 * kinds plug in: an AIMD window (TEI: as many in flight as the server keeps up with) and a rate budget
 * (OpenAI-compatible APIs: requests and tokens per minute, and concurrency).
 */
export interface RequestLimiter {
  /** Waits for room for one request that may cost `cost` (tokens); rejects with the signal's reason when aborted. */
  acquire(cost: number, signal: AbortSignal): Promise<LimiterPermit>;
  /**
   * A 429, the `count`-th of this request: `'attempt'` — a try like any transient failure (its permit already told
   * a window to shrink); a number — every request waits that long (a paused budget), and the try is not counted.
   */
  rateLimited(failure: RemoteRequestError, count: number): number | 'attempt';
}

/** TEI's limiter: the window grows with successes and shrinks on 429s and timeouts; a 429 is a try like others. */
export function windowLimiter(window: AimdWindow): RequestLimiter {
  return {
    acquire: async (_cost, signal) => {
      const slot = await window.acquire(signal);
      const outcome = (end: RequestEnd) =>
        end.answered ? 'success' : end.failure?.congestion ? 'congestion' : 'neutral';
      return { done: (end) => slot.release(outcome(end)) };
    },
    rateLimited: () => 'attempt',
  };
}

/**
 * An OpenAI-compatible API's limiter: the budget's estimate is corrected by the usage the remote reports, its
 * headers adapt the limits, and a 429 pauses every request (Retry-After, or a backoff) without using up an attempt.
 */
export function budgetLimiter(budget: RateBudget, retryBaseMs: number): RequestLimiter {
  return {
    acquire: async (estimate, signal) => {
      const permit = await budget.acquire(estimate, signal);
      return {
        done: ({ answered, failure, cost, limits }) => {
          // A request refused outright did not spend tokens; one that went unanswered may have.
          permit.finish(answered ? (cost ?? estimate) : failure?.details.status !== undefined ? 0 : estimate);
          budget.observe(limits ?? failure?.details.limits);
        },
      };
    },
    rateLimited: (failure, count) => {
      budget.pause(failure.details.retryAfterMs ?? backoffMs(count, retryBaseMs));
      // The budget holds every request until the pause is over; this one waits in acquire like the others.
      return 0;
    },
  };
}
