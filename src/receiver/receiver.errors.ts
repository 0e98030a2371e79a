import { UnprocessableEntityException } from '@nestjs/common';

export interface RejectedItem {
  index: number;
  chunk_id: number;
  message: string;
}

/** The batch is refused as a whole (nothing stored); `items` names each bad item so a sender can isolate it. */
export class ReceiverRejection extends UnprocessableEntityException {
  constructor(readonly items: RejectedItem[]) {
    super({
      statusCode: 422,
      error: 'Unprocessable Entity',
      message: items.map((item) => `items[${item.index}] (chunk ${item.chunk_id}): ${item.message}`).join('; '),
      items,
    });
  }
}
