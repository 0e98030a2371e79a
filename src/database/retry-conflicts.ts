import { backoffMs } from '../common/backoff';
import { retrying } from '../common/retry';

/**
 * SQLSTATEs after which PostgreSQL asks the client to run the transaction again: deadlock_detected (two
 * transactions each waiting for the other's rows, e.g. a task deleted while a sender settles its last links) and
 * serialization_failure. The transaction was rolled back whole, so running it again is safe.
 */
const RETRYABLE = new Set(['40P01', '40001']);

/** Runs `work` (one whole transaction or statement) again after a short random wait when PostgreSQL says to. */
export function retryOnConflict<T>(work: () => Promise<T>, attempts = 4): Promise<T> {
  return retrying(work, (error, attempt) => {
    const code = (error as { code?: unknown }).code;
    if (attempt >= attempts || typeof code !== 'string' || !RETRYABLE.has(code)) throw error;
    return backoffMs(attempt, 20);
  });
}
