import { messageOf } from '../common/message-of';
import { ReceiverError, ReceiverErrorCode } from '../receiver/receiver.errors';
import { ReceiverService } from '../receiver/receiver.service';
import { DeliveryBatch, DeliveryError, DeliveryErrorCode, ReceiverClient, toReceiverBody } from './receiver-client';

/** Stores through the built-in receiver without an HTTP hop: same checks, same upsert. */
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
      const refused = error instanceof ReceiverError && error.code === ReceiverErrorCode.Rejected;
      this.onError?.(refused ? 422 : 'error');
      if (refused) {
        const items = error.items.map((item) => ({ chunkId: item.chunk_id, message: item.message }));
        throw new DeliveryError(DeliveryErrorCode.Refused, error.message, items);
      }
      throw new DeliveryError(DeliveryErrorCode.RetryLater, `storing vectors failed: ${messageOf(error)}`);
    }
  }

  async checkReachable(): Promise<void> {
    // In-process: reachable whenever the database is, which readiness checks on its own.
  }
}
