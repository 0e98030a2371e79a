import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { backoffMs, retryAfterMs } from '../common/backoff';
import { encodeFloat32Base64 } from '../common/float32-base64';
import { messageOf } from '../common/message-of';
import { retrying } from '../common/retry';
import { receiverEndpoint } from '../config/receiver-url';
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
  /** The receiver's base URL (RECEIVER_URL, normalised at config load): the endpoint is its /receiver/embeddings. */
  url: string;
  apiKey?: string;
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs?: number;
  /** Told of every failed request (metrics): the HTTP status, or `network`/`timeout` when none came back. */
  onError?: (status: number | 'network' | 'timeout') => void;
}

/** One POST's outcome: stored, or a DeliveryError with, for a transient one, how long the receiver asked to wait. */
type PostOutcome = { ok: true } | { ok: false; error: DeliveryError; retryAfterMs?: number };

/**
 * Statuses that say the whole receiver (or what stands before it) is unavailable, never one item: retried here, not
 * split. Any other 5xx may be one bad item, so IsolatingDelivery splits the batch (DeliveryErrorCode.Failed).
 */
const UNAVAILABLE = new Set([408, 429, 502, 503, 504]);

/** How much of a receiver's error body goes into messages (and so into a chunk's last_error). */
const MESSAGE_CHARS = 500;

/**
 * POSTs batches to RECEIVER_URL + /receiver/embeddings. A batch counts as stored only when the whole answer was read
 * and, when it says `{stored: n}` (the built-in receiver does), n is the number sent. Unavailability is retried here
 * with backoff. A 5xx that may be one item's is not retried here: IsolatingDelivery splits the batch, and the sender
 * retries a lone item that keeps failing with its own backoff (available_at), holding no delivery slot meanwhile.
 */
export class HttpReceiverClient extends ReceiverClient {
  private readonly logger = new Logger('ReceiverClient');
  private readonly endpoint: string;

  constructor(private readonly options: HttpReceiverOptions) {
    super();
    this.endpoint = receiverEndpoint(options.url);
  }

  async deliver(batch: DeliveryBatch): Promise<void> {
    const body = JSON.stringify(toReceiverBody(batch, encodeFloat32Base64));
    const key = idempotencyKey(batch);
    let retryAfter: number | undefined;
    const post = async () => {
      const outcome = await this.post(body, key, batch.items.length);
      if (outcome.ok) return;
      retryAfter = outcome.retryAfterMs;
      throw outcome.error;
    };
    await retrying(post, (error, attempt) => {
      const unavailable = error instanceof DeliveryError && error.code === DeliveryErrorCode.RetryLater;
      if (!unavailable || attempt > this.options.maxRetries) throw error;
      const wait = retryAfter ?? backoffMs(attempt - 1, this.options.retryBaseMs ?? 200);
      // A long Retry-After is not waited out here (a cancel waits for this delivery): the batch goes back instead.
      if (wait > this.options.timeoutMs) throw error;
      this.logger.warn(`receiver: ${withoutBody(error.message)}; retry ${attempt} in ${wait} ms`);
      return wait;
    });
  }

  /**
   * Readiness asks what delivery calls: a POST of an empty body to the endpoint. Any answer that shows the endpoint
   * is there and takes our key (2xx, 400, 422: the body was judged) is up; 404/405 (a wrong RECEIVER_URL), 401/403
   * (a wrong key), 5xx and network failures are down.
   */
  async checkReachable(signal?: AbortSignal): Promise<void> {
    const response = await fetch(this.endpoint, {
      method: 'POST',
      body: '{}',
      headers: { ...this.headers(), 'content-type': 'application/json' },
      signal,
    });
    await response.body?.cancel();
    if (response.ok || response.status === 400 || response.status === 422) return;
    throw new Error(`POST ${this.endpoint} answered ${response.status}`);
  }

  private async post(body: string, key: string, sent: number): Promise<PostOutcome> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        body,
        headers: { ...this.headers(), 'content-type': 'application/json', 'idempotency-key': key },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      // Read to the end inside the timeout: a body cut off or stalled is not an acknowledgement.
      text = await response.text();
    } catch (error) {
      this.options.onError?.(isTimeout(error) ? 'timeout' : 'network');
      return { ok: false, error: retryLater(`receiver unreachable: ${messageOf(error)}`) };
    }
    if (response.ok) return acknowledged(response, text, sent);
    this.options.onError?.(response.status);
    return classify(response, text);
  }

  private headers(): Record<string, string> {
    return this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {};
  }
}

/** A 2xx counts when its body, if JSON, parses, and its `stored` (when present) is the number sent. */
function acknowledged(response: Response, text: string, sent: number): PostOutcome {
  const json = (response.headers.get('content-type') ?? '').includes('json');
  if (!json) return { ok: true };
  let stored: unknown;
  try {
    stored = (JSON.parse(text) as { stored?: unknown } | null)?.stored;
  } catch {
    return { ok: false, error: retryLater(`receiver answered ${response.status} with a broken JSON body`) };
  }
  if (stored === undefined || stored === sent) return { ok: true };
  return {
    ok: false,
    error: retryLater(`receiver answered stored: ${JSON.stringify(stored).slice(0, 20)} for ${sent} sent`),
  };
}

function classify(response: Response, text: string): PostOutcome {
  const message = `receiver answered ${response.status}: ${text.slice(0, MESSAGE_CHARS)}`;
  if (UNAVAILABLE.has(response.status)) {
    return { ok: false, error: retryLater(message), retryAfterMs: retryAfterMs(response) };
  }
  if (response.status >= 500) return { ok: false, error: new DeliveryError(DeliveryErrorCode.Failed, message) };
  return { ok: false, error: new DeliveryError(DeliveryErrorCode.Refused, message, rejectedItems(text)) };
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
