import { ClaimedChunk } from './sender.repository';

/** What became of each link of a batch, written back in one go when the batch ends. */
export class BatchOutcome {
  readonly done: number[] = [];
  readonly failed: { linkId: number; error: string }[] = [];
  readonly retry: { items: ClaimedChunk[]; error: string }[] = [];
  readonly released: number[] = [];

  succeed(items: ClaimedChunk[]): void {
    this.done.push(...items.map((item) => item.linkId));
  }

  fail(items: ClaimedChunk[], error: string): void {
    this.failed.push(...items.map((item) => ({ linkId: item.linkId, error })));
  }

  retryLater(items: ClaimedChunk[], error: string): void {
    if (items.length > 0) this.retry.push({ items, error });
  }

  release(items: ClaimedChunk[]): void {
    this.released.push(...items.map((item) => item.linkId));
  }
}
