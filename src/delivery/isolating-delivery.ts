import { Injectable } from '@nestjs/common';
import {
  DeliveryBatch,
  DeliveryItem,
  DeliveryRejectedError,
  DeliveryTransientError,
  ReceiverClient,
} from './receiver-client';

/** What became of each item of a delivery, by chunk id. */
export class DeliveryReport {
  /** Acknowledged by the receiver. */
  readonly delivered: number[] = [];
  /** Refused for good, each with the receiver's reason. */
  readonly refused: { chunkId: number; error: string }[] = [];
  /** Not delivered for a reason that may pass (receiver unreachable, 5xx…): worth another attempt later. */
  readonly retry: { chunkIds: number[]; error: string }[] = [];
}

/**
 * Delivers through the ReceiverClient so that a bad item fails alone: the items the receiver names are refused and
 * the rest delivered again; when it names none, the batch is halved until the bad item is alone. Shared by the
 * local sender and by POST /embeddings/batch with `deliver`. An error that is neither a refusal nor transient (a
 * bug) propagates, and the report passed in keeps what was settled before it.
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
      if (error instanceof DeliveryTransientError) {
        report.retry.push({ chunkIds: items.map((item) => item.chunkId), error: error.message });
        return;
      }
      if (!(error instanceof DeliveryRejectedError)) throw error;
      await this.isolate(batch, items, error, report);
    }
  }

  private async isolate(
    batch: DeliveryBatch,
    items: DeliveryItem[],
    error: DeliveryRejectedError,
    report: DeliveryReport,
  ) {
    const named = new Map(error.items.map((item) => [item.chunkId, item.message]));
    const bad = items.filter((item) => named.has(item.chunkId));
    if (bad.length > 0) {
      bad.forEach((item) =>
        report.refused.push({ chunkId: item.chunkId, error: `receiver refused: ${named.get(item.chunkId)}` }),
      );
      return this.deliverPart(
        batch,
        items.filter((item) => !named.has(item.chunkId)),
        report,
      );
    }
    if (items.length === 1) return void report.refused.push({ chunkId: items[0].chunkId, error: error.message });
    const middle = Math.ceil(items.length / 2);
    await this.deliverPart(batch, items.slice(0, middle), report);
    await this.deliverPart(batch, items.slice(middle), report);
  }
}
