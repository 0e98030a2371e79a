export interface RejectedItem {
  index: number;
  chunk_id: number;
  message: string;
}

export enum ReceiverErrorCode {
  /** The batch is refused as a whole, nothing stored (422); `items` names each bad item so a sender can isolate it. */
  Rejected = 'REJECTED',
  /** No stored vector for the chunk (and model) asked for (404). */
  NotStored = 'NOT_STORED',
  /** The chunk has vectors of several models and the request named none (404, naming them). */
  ModelRequired = 'MODEL_REQUIRED',
}

/** The one error of the built-in receiver; ReceiverExceptionFilter answers it. */
export class ReceiverError extends Error {
  constructor(
    readonly code: ReceiverErrorCode,
    message: string,
    readonly items: RejectedItem[] = [],
  ) {
    super(message);
    this.name = 'ReceiverError';
  }
}

export function rejection(items: RejectedItem[]): ReceiverError {
  const message = items.map((item) => `items[${item.index}] (chunk ${item.chunk_id}): ${item.message}`).join('; ');
  return new ReceiverError(ReceiverErrorCode.Rejected, message, items);
}
