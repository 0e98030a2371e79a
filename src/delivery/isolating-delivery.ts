import { Injectable } from '@nestjs/common';
import { assertUnreachable } from '../common/assert-unreachable';
import { DeliveryBatch, DeliveryError, DeliveryErrorCode, DeliveryItem, ReceiverClient } from './receiver-client';

/** What became of each item of a delivery, by chunk id. */
export class DeliveryReport {
  /** Acknowledged by the receiver. */
  readonly delivered: number[] = [];
  /** Refused for good, each with the reason: the model refused its text, or the receiver its vector. */
  readonly refused: { chunkId: number; error: string; by: 'model' | 'receiver' }[] = [];
  /** Not delivered for a reason that may pass (receiver unreachable, 5xx…): worth another attempt later. */
  readonly retry: { chunkIds: number[]; error: string }[] = [];
}

/**
 * Delivers through the ReceiverClient so that a bad item fails alone: the items the receiver names are refused and
 * the rest delivered again; when it names none, the batch is halved until the bad item is alone. An error that is
 * not a DeliveryError (a bug) propagates, and the report passed in keeps what was settled before it.
 */
@Injectable()
export class IsolatingDelivery {
  constructor(private readonly receiver: ReceiverClient) {}

  async deliver(batch: DeliveryBatch, report = new DeliveryReport()): Promise<DeliveryReport> {
    await this.deliverPart(batch, batch.items, report);
    return report;
  }

  private async deliverPart(batch: DeliveryBatch, items: DeliveryItem[], report: DeliveryReport): Promise<void> {
    if (items.length === 0) return;
    try {
      await this.receiver.deliver({ ...batch, items });
      report.delivered.push(...items.map((item) => item.chunkId));
    } catch (error) {
      if (!(error instanceof DeliveryError)) throw error;
      switch (error.code) {
        case DeliveryErrorCode.RetryLater:
          return void report.retry.push({ chunkIds: items.map((item) => item.chunkId), error: error.message });
        case DeliveryErrorCode.Refused:
          return this.isolate(batch, items, error, report);
        default:
          assertUnreachable(error.code);
      }
    }
  }

  private async isolate(batch: DeliveryBatch, items: DeliveryItem[], error: DeliveryError, report: DeliveryReport) {
    const named = new Map(error.items.map((item) => [item.chunkId, item.message]));
    const bad = items.filter((item) => named.has(item.chunkId));
    if (bad.length > 0) {
      bad.forEach(({ chunkId }) =>
        report.refused.push({ chunkId, error: `receiver refused: ${named.get(chunkId)}`, by: 'receiver' }),
      );
      return this.deliverPart(
        batch,
        items.filter((item) => !named.has(item.chunkId)),
        report,
      );
    }
    if (items.length === 1) {
      return void report.refused.push({ chunkId: items[0].chunkId, error: error.message, by: 'receiver' });
    }
    const middle = Math.ceil(items.length / 2);
    await this.deliverPart(batch, items.slice(0, middle), report);
    await this.deliverPart(batch, items.slice(middle), report);
  }
}
