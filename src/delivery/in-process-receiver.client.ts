import { Injectable } from '@nestjs/common';
import { DeliveryBatch, DeliveryRejectedError, DeliveryTransientError, ReceiverClient, toReceiverBody } from './receiver-client';
import { ReceiverRejection } from '../receiver/receiver.errors';
import { ReceiverService } from '../receiver/receiver.service';

/** Stores through the built-in receiver without an HTTP hop: same checks, same upsert. */
@Injectable()
export class InProcessReceiverClient extends ReceiverClient {
  constructor(
    private readonly receiver: ReceiverService,
    /** Told of every failed store (metrics): 422 for a refusal, like the endpoint, else `error`. */
    private readonly onError?: (status: 422 | 'error') => void,
  ) {
    super();
  }

  async deliver(batch: DeliveryBatch): Promise<void> {
    try {
      await this.receiver.store(toReceiverBody(batch, (vector) => vector));
    } catch (error) {
      this.onError?.(error instanceof ReceiverRejection ? 422 : 'error');
      if (error instanceof ReceiverRejection) {
        const items = error.items.map((item) => ({ chunkId: item.chunk_id, message: item.message }));
        throw new DeliveryRejectedError(error.message, items);
      }
      throw new DeliveryTransientError(`storing vectors failed: ${error instanceof Error ? error.message : error}`);
    }
  }

  async checkReachable(): Promise<void> {
    // In-process: reachable whenever the database is, which readiness checks on its own.
  }
}
