import { ClaimedChunk } from './sender.repository';

/** What became of each link of a batch, written back in one go when the batch ends. */
export class BatchOutcome {
  readonly done: number[] = [];
  readonly failed: { linkId: number; error: string }[] = [];
  /** `delayMs`: how long to wait before the next attempt when the other side said (Retry-After); else backoff. */
  readonly retry: { items: ClaimedChunk[]; error: string; delayMs?: number }[] = [];
  readonly released: number[] = [];

  succeed(items: ClaimedChunk[]): void {
    this.done.push(...items.map((item) => item.linkId));
  }

  fail(items: ClaimedChunk[], error: string): void {
    this.failed.push(...items.map((item) => ({ linkId: item.linkId, error })));
  }

  retryLater(items: ClaimedChunk[], error: string, delayMs?: number): void {
    if (items.length > 0) this.retry.push({ items, error, delayMs });
  }

  release(items: ClaimedChunk[]): void {
    this.released.push(...items.map((item) => item.linkId));
  }
}
