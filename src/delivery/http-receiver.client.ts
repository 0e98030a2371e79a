import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { backoffMs, isTransientStatus, retryAfterMs, sleep } from '../common/backoff';
import { encodeFloat32Base64 } from '../common/float32-base64';
import { messageOf } from '../common/message-of';
import {
  DeliveryBatch,
  DeliveryError,
  DeliveryErrorCode,
  ReceiverClient,
  RejectedDelivery,
  toReceiverBody,
} from './receiver-client';
import { withoutBody } from '../logging/safe-error';

export interface HttpReceiverOptions {
  url: string;
  apiKey?: string;
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs?: number;
  /** Told of every failed request (metrics): the HTTP status, or `network`/`timeout` when none came back. */
  onError?: (status: number | 'network' | 'timeout') => void;
}

/** POSTs batches to RECEIVER_URL + /receiver/embeddings, retrying what may succeed later. */
export class HttpReceiverClient extends ReceiverClient {
  private readonly logger = new Logger('ReceiverClient');

  constructor(private readonly options: HttpReceiverOptions) {
    super();
  }

  async deliver(batch: DeliveryBatch): Promise<void> {
    const body = JSON.stringify(toReceiverBody(batch, encodeFloat32Base64));
    const key = idempotencyKey(batch);
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.post(body, key);
      if (outcome.ok) return;
      if (!outcome.retry) throw outcome.error;
      if (attempt >= this.options.maxRetries) throw retryLater(outcome.error.message);
      const wait = outcome.retryAfterMs ?? backoffMs(attempt, this.options.retryBaseMs ?? 200);
      this.logger.warn(`receiver: ${withoutBody(outcome.error.message)}; retry ${attempt + 1} in ${wait} ms`);
      await sleep(wait);
    }
  }

  async checkReachable(signal?: AbortSignal): Promise<void> {
    // Any HTTP answer means the receiver is reachable; only a network failure is not.
    await fetch(this.options.url, { method: 'GET', signal, headers: this.headers() });
  }

  private async post(body: string, key: string) {
    try {
      const response = await fetch(new URL('receiver/embeddings', withSlash(this.options.url)), {
        method: 'POST',
        body,
        headers: { ...this.headers(), 'content-type': 'application/json', 'idempotency-key': key },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      if (response.ok) return { ok: true as const };
      this.options.onError?.(response.status);
      return { ok: false as const, ...(await classify(response)) };
    } catch (error) {
      this.options.onError?.(isTimeout(error) ? 'timeout' : 'network');
      const message = `receiver unreachable: ${messageOf(error)}`;
      return { ok: false as const, retry: true, error: retryLater(message), retryAfterMs: undefined };
    }
  }

  private headers(): Record<string, string> {
    return this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {};
  }
}

async function classify(response: Response) {
  const text = await response.text().catch(() => '');
  const message = `receiver answered ${response.status}: ${text.slice(0, 500)}`;
  const retry = isTransientStatus(response.status);
  if (retry) return { retry, error: retryLater(message), retryAfterMs: retryAfterMs(response) };
  const error = new DeliveryError(DeliveryErrorCode.Refused, message, rejectedItems(text));
  return { retry, error, retryAfterMs: undefined };
}

/** The built-in receiver's 422 names each bad item; other receivers may not, and the sender then splits. */
function rejectedItems(text: string): RejectedDelivery[] {
  try {
    const body = JSON.parse(text) as { items?: { chunk_id: number; message: string }[] };
    return (body.items ?? []).map((item) => ({ chunkId: item.chunk_id, message: item.message }));
  } catch {
    return [];
  }
}

/** The same batch (same model and chunks) always gets the same key, across retries and processes. */
function idempotencyKey(batch: DeliveryBatch): string {
  const ids = batch.items.map((item) => `${item.chunkId}:${item.contentHash}`).join(',');
  return createHash('sha256').update(`${batch.model}|${ids}`).digest('hex');
}

const retryLater = (message: string) => new DeliveryError(DeliveryErrorCode.RetryLater, message);

/** AbortSignal.timeout aborts fetch with a TimeoutError. */
const isTimeout = (error: unknown) => error instanceof Error && error.name === 'TimeoutError';

const withSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`);
