import { RateLimitHeaders, waitAskedMs } from './rate-limit-headers';

/**
 * What a failed request to a remote back end means to its caller (one meaning for TEI and OpenAI-compatible APIs;
 * each client classifies its server's answers into these):
 * - `rate-limited`: 429: the remote asks for fewer requests; the limiter decides how to wait (RequestLimiter);
 * - `transient`: 5xx, 408, 424, network errors, resets and timeouts: try again after a while;
 * - `too-large`: 413 for the request (too many inputs or tokens): send fewer;
 * - `input`: 400/413/422 about the input: one input is bad, or several; split to find it;
 * - `request`: 400/422 naming another parameter (`dimensions`, `model`…): the call itself is wrong;
 * - `fatal`: 401, 403, 404, an exhausted quota: configuration, not worth retrying now.
 */
export type RemoteFailureKind = 'rate-limited' | 'transient' | 'too-large' | 'input' | 'request' | 'fatal';

export interface RemoteFailureDetails {
  status?: number;
  /** How long the remote asked us to wait (Retry-After, retry-after-ms, the x-ratelimit reset headers). */
  retryAfterMs?: number;
  /** What the remote said about its rate limits, for a budget to follow. */
  limits?: RateLimitHeaders;
  /** A smaller batch limit the remote named (TEI's "maximum allowed batch size N"). */
  maxInputs?: number;
  /** The request field the remote blamed (OpenAI's `param`). */
  param?: string;
  /** The request ran past its time limit. */
  timedOut?: boolean;
  /** No HTTP answer: refused, reset, unreachable. */
  network?: boolean;
}

/** One failed request to a remote back end; RemoteSender decides what comes of it in one exhaustive switch. */
export class RemoteRequestError extends Error {
  constructor(
    message: string,
    readonly kind: RemoteFailureKind,
    readonly details: RemoteFailureDetails = {},
  ) {
    super(message);
    this.name = 'RemoteRequestError';
  }

  /** A sign that the remote is saturated: a window should shrink. */
  get congestion(): boolean {
    return this.kind === 'rate-limited' || this.details.timedOut === true;
  }

  /** Worth another try later (as opposed to a refusal, or a problem only configuration fixes). */
  get retryable(): boolean {
    return this.kind === 'rate-limited' || this.kind === 'transient';
  }

  /** A refusal of the inputs or their number: splitting the request finds the input at fault. */
  get refusesInput(): boolean {
    return this.kind === 'too-large' || this.kind === 'input';
  }

  /** For metrics: the HTTP status, or what went wrong before one came back. */
  get status(): number | 'network' | 'timeout' | 'error' {
    if (this.details.timedOut) return 'timeout';
    if (this.details.network) return 'network';
    return this.details.status ?? 'error';
  }
}

/** The details every failed HTTP answer carries: its status, the rate-limit headers and the wait they ask for. */
export function answerDetails(response: Response, limits: RateLimitHeaders): RemoteFailureDetails {
  return { status: response.status, limits, retryAfterMs: waitAskedMs(limits) };
}

/** How a client words the failures that come before any answer. */
export interface FetchFailureWords {
  timedOut: string;
  notJson: (reason: string) => string;
  unreachable: (reason: string) => string;
}

/**
 * A fetch (or the read of its body) that threw: the caller's abort passes through as its reason; a timeout, an
 * answer that is not JSON and a failed connection are transient RemoteRequestErrors.
 */
export function fetchFailure(
  error: unknown,
  signal: AbortSignal | undefined,
  timeout: AbortSignal,
  words: FetchFailureWords,
): unknown {
  if (error instanceof RemoteRequestError) return error;
  if (signal?.aborted) return signal.reason;
  if (timeout.aborted) return new RemoteRequestError(words.timedOut, 'transient', { timedOut: true });
  if ((error as Error)?.name === 'SyntaxError') {
    return new RemoteRequestError(words.notJson(describeNetworkError(error)), 'transient');
  }
  return new RemoteRequestError(words.unreachable(describeNetworkError(error)), 'transient', { network: true });
}

/** fetch's "fetch failed" hides the reason (ECONNRESET, ECONNREFUSED…) in `cause`; duck-typed, as realms may differ. */
export function describeNetworkError(error: unknown): string {
  const { message, cause } = (error ?? {}) as { message?: string; cause?: { code?: string; message?: string } };
  if (message === undefined) return String(error);
  return cause ? `${message}: ${cause.code ?? cause.message}` : message;
}
