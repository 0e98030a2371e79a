import { FailureReason, RetryReason } from '../metrics/metrics.service';
import { LinkTokens } from '../delivery/charge-tokens';
import { ClaimedChunk } from './sender.repository';

/** What became of each link of a batch, written back in one go when the batch ends. */
export class BatchOutcome {
  readonly done: number[] = [];
  readonly failed: { linkId: number; error: string; reason: FailureReason }[] = [];
  /**
   * `delayMs`: how long to wait before the next attempt when the other side said (Retry-After); else backoff.
   * `countsAttempt`: the failure is the chunks' own and uses an attempt; else a dependency was unavailable, which uses none.
   */
  readonly retry: {
    items: ClaimedChunk[];
    error: string;
    reason: RetryReason;
    delayMs?: number;
    countsAttempt: boolean;
  }[] = [];
  /** How each dependency the batch called fared (true: it answered), for its circuit breaker; the last error else. */
  readonly dependencies = new Map<string, { up: boolean; error: string }>();
  readonly released: number[] = [];
  /** Links whose vector was computed for this batch (for metrics; a vector reused from the store is not). */
  embedded = 0;
  /**
   * Tokens of the done links, by link id (stored with their tasks), and of texts embedded for links that did not end
   * done; none when nothing counted them.
   */
  tokens: { byLink: Map<number, LinkTokens>; unused: number } = { byLink: new Map(), unused: 0 };

  succeed(items: ClaimedChunk[]): void {
    this.done.push(...items.map((item) => item.linkId));
  }

  fail(items: ClaimedChunk[], error: string, reason: FailureReason): void {
    this.failed.push(...items.map((item) => ({ linkId: item.linkId, error, reason })));
  }

  retryLater(items: ClaimedChunk[], error: string, reason: RetryReason, delayMs?: number, countsAttempt = true): void {
    if (items.length > 0) this.retry.push({ items, error, reason, delayMs, countsAttempt });
  }

  /** A transient failure of a dependency: the items go back without using an attempt, and its breaker hears of it. */
  unavailable(dependency: string, items: ClaimedChunk[], error: string, reason: RetryReason, delayMs?: number): void {
    if (!this.dependencies.get(dependency)?.up) this.dependencies.set(dependency, { up: false, error });
    this.retryLater(items, error, reason, delayMs, false);
  }

  /** The dependency answered (a refusal is an answer too): it works, whatever else failed in this batch. */
  answered(dependency: string): void {
    this.dependencies.set(dependency, { up: true, error: '' });
  }

  release(items: ClaimedChunk[]): void {
    this.released.push(...items.map((item) => item.linkId));
  }

  noteEmbedded(items: ClaimedChunk[]): void {
    this.embedded += items.length;
  }
}
