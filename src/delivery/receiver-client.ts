export interface DeliveryItem {
  chunkId: number;
  contentHash: string;
  vector: Float32Array;
}

export interface DeliveryBatch {
  taskId: number;
  model: string;
  dimensions: number;
  items: DeliveryItem[];
}

/** The receiver contract's body for a batch; `encode` picks how vectors travel (array or base64). */
export function toReceiverBody<E>(batch: DeliveryBatch, encode: (vector: Float32Array) => E) {
  return {
    task_id: batch.taskId,
    model: batch.model,
    dimensions: batch.dimensions,
    items: batch.items.map((item) => ({
      chunk_id: item.chunkId,
      content_hash: item.contentHash,
      embedding: encode(item.vector),
    })),
  };
}

export interface RejectedDelivery {
  chunkId: number;
  message: string;
}

export enum DeliveryErrorCode {
  /** The receiver refused the batch for good (a 4xx): `items` names the bad ones when the receiver said. */
  Refused = 'REFUSED',
  /** Worth trying again later: network errors, timeouts, 5xx, 408, 429 after the client's own retries. */
  RetryLater = 'RETRY_LATER',
}

/** Why a delivery failed; IsolatingDelivery decides by the code what to try next. */
export class DeliveryError extends Error {
  constructor(
    readonly code: DeliveryErrorCode,
    message: string,
    readonly items: RejectedDelivery[] = [],
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/**
 * Delivers vectors to the receiver; resolves only once they are stored. Abstract so it serves as the injection
 * token: over HTTP when RECEIVER_URL is set, else in-process through the built-in receiver.
 */
export abstract class ReceiverClient {
  abstract deliver(batch: DeliveryBatch): Promise<void>;
  /** Rejects when the receiver cannot be reached (readiness). */
  abstract checkReachable(signal?: AbortSignal): Promise<void>;
}
