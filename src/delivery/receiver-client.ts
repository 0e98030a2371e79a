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
  /**
   * Worth trying again later, and no item's fault: network errors, timeouts, 502/503/504, 408, 429, a broken answer
   * (cut off, bad JSON, a wrong `stored` count), after the client's own retries.
   */
  RetryLater = 'RETRY_LATER',
  /**
   * The receiver failed on this batch (another 5xx, such as 500): one bad item or the whole receiver.
   * IsolatingDelivery splits the batch to tell which.
   */
  Failed = 'FAILED',
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
