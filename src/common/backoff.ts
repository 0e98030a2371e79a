import { setTimeout as wait } from 'node:timers/promises';

/** Resolves after `ms`; rejects with the signal's reason as soon as it aborts. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> => wait(ms, undefined, { signal });

/** A deadline that does not keep the process alive: for racing against work that may finish first. */
export const deadline = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Exponential backoff with full jitter: a random wait in [base·2^attempt / 2, base·2^attempt], capped at a minute. */
export function backoffMs(attempt: number, baseMs: number, maxMs = 60_000): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Retry-After in seconds or as an HTTP date, in milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get('retry-after');
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** HTTP statuses worth trying again later: server errors, 408 (timeout) and 429 (too many requests). */
export function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}
