import { Injectable } from '@nestjs/common';
import { assertUnreachable } from '../common/assert-unreachable';
import { DeliveryBatch, DeliveryError, DeliveryErrorCode, DeliveryItem, ReceiverClient } from './receiver-client';

/** What became of each item of a delivery, by chunk id. */
export class DeliveryReport {
  /** Acknowledged by the receiver. */
  readonly delivered: number[] = [];
  /** Refused for good, each with the reason: the model refused its text, or the receiver its vector. */
  readonly refused: { chunkId: number; error: string; by: 'model' | 'receiver' }[] = [];
  /**
   * Not delivered, worth another attempt later. `countsAttempt`: the failure is the chunk's own (a 5xx for it alone),
   * so it uses one of its attempts; otherwise the receiver was unavailable (unreachable, 503, every part of the batch
   * failing), which uses none.
   */
  readonly retry: { chunkIds: number[]; error: string; countsAttempt: boolean }[] = [];
}

/**
 * While no part of a batch has been stored, a 5xx is split "blind" at most this deep (the batch in 2, 4, 8 parts);
 * when every part fails the receiver is failing as a whole, not one item: at most 14 extra requests per batch.
 */
const BLIND_DEPTH = 3;

/** One delivery's progress: whether any part was stored, which shows the receiver works. */
interface Isolation {
  batch: DeliveryBatch;
  report: DeliveryReport;
  anyStored: boolean;
}

/**
 * Delivers through the ReceiverClient so that a bad item fails alone. A refusal (4xx): the items the receiver names
 * are refused and the rest delivered again; when it names none, the batch is halved until the bad item is alone. A
 * 5xx that may be one item's (DeliveryErrorCode.Failed): the batch is halved, and only a half that fails again is
 * split further, so an item that fails alone is retried as its own failure while the others are stored; when every
 * part fails and none was stored, the receiver is down and nothing is the items' fault. An error that is not a
 * DeliveryError (a bug) propagates, and the report passed in keeps what was settled before it.
 */
@Injectable()
export class IsolatingDelivery {
  constructor(private readonly receiver: ReceiverClient) {}

  async deliver(batch: DeliveryBatch, report = new DeliveryReport()): Promise<DeliveryReport> {
    const isolation = { batch, report, anyStored: false };
    const error = await this.attempt(isolation, batch.items);
    if (error) await this.handle(isolation, batch.items, error, 0);
    return report;
  }

  /** One request: the items are delivered (undefined), or the DeliveryError that says why not. */
  private async attempt(isolation: Isolation, items: DeliveryItem[]): Promise<DeliveryError | undefined> {
    if (items.length === 0) return undefined;
    try {
      await this.receiver.deliver({ ...isolation.batch, items });
    } catch (error) {
      if (!(error instanceof DeliveryError)) throw error;
      return error;
    }
    isolation.report.delivered.push(...items.map((item) => item.chunkId));
    isolation.anyStored = true;
    return undefined;
  }

  private async handle(isolation: Isolation, items: DeliveryItem[], error: DeliveryError, depth: number) {
    switch (error.code) {
      case DeliveryErrorCode.RetryLater:
        return retry(isolation, items, error, false);
      case DeliveryErrorCode.Refused:
        return this.isolateRefusal(isolation, items, error);
      case DeliveryErrorCode.Failed:
        return this.isolateFailure(isolation, items, error, depth);
      default:
        assertUnreachable(error.code);
    }
  }

  private async deliverPart(isolation: Isolation, items: DeliveryItem[], depth: number): Promise<void> {
    const error = await this.attempt(isolation, items);
    if (error) await this.handle(isolation, items, error, depth);
  }

  private async isolateRefusal(isolation: Isolation, items: DeliveryItem[], error: DeliveryError) {
    const named = new Map(error.items.map((item) => [item.chunkId, item.message]));
    const bad = items.filter((item) => named.has(item.chunkId));
    const { refused } = isolation.report;
    if (bad.length > 0) {
      for (const { chunkId } of bad) {
        refused.push({ chunkId, error: `receiver refused: ${named.get(chunkId)}`, by: 'receiver' });
      }
      const rest = items.filter((item) => !named.has(item.chunkId));
      return this.deliverPart(isolation, rest, 0);
    }
    if (items.length === 1) {
      return void refused.push({ chunkId: items[0].chunkId, error: error.message, by: 'receiver' });
    }
    for (const half of halves(items)) await this.deliverPart(isolation, half, 0);
  }

  /**
   * A 5xx for these items. Alone, it is the item's own failure when the receiver stored something else of this batch
   * (or the batch was that item alone: nothing else can tell). Else both halves are tried once; while nothing was
   * stored, a batch whose parts all fail down to BLIND_DEPTH is the receiver failing, and goes back untouched.
   */
  private async isolateFailure(isolation: Isolation, items: DeliveryItem[], error: DeliveryError, depth: number) {
    if (items.length === 1) {
      const countsAttempt = isolation.anyStored || isolation.batch.items.length === 1;
      return retry(isolation, items, error, countsAttempt);
    }
    if (!isolation.anyStored && depth >= BLIND_DEPTH) return retry(isolation, items, error, false);
    const parts = halves(items);
    const errors = [];
    for (const part of parts) errors.push(await this.attempt(isolation, part));
    for (const [index, part] of parts.entries()) {
      if (errors[index]) await this.handle(isolation, part, errors[index], depth + 1);
    }
  }
}

function retry(isolation: Isolation, items: DeliveryItem[], error: DeliveryError, countsAttempt: boolean): void {
  isolation.report.retry.push({ chunkIds: items.map((item) => item.chunkId), error: error.message, countsAttempt });
}

function halves<T>(items: T[]): [T[], T[]] {
  const middle = Math.ceil(items.length / 2);
  return [items.slice(0, middle), items.slice(middle)];
}
