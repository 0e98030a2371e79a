import { assertUnreachable } from '../../../common/assert-unreachable';
import { backoffMs } from '../../../common/backoff';
import { retrying } from '../../../common/retry';
import { RateLimitHeaders } from './rate-limit-headers';
import { remoteRequestRefused, RemoteUnavailableError } from './remote.errors';
import { RemoteRequestError } from './remote-request-error';
import { RequestLimiter } from './request-limiter';

/** A request that keeps meeting 429s gives up after this long, so a remote that never lets up fails the call. */
export const RATE_LIMITED_GIVE_UP_MS = 15 * 60_000;

export interface RemoteSenderOptions {
  /** Tries per request for transient failures (and 429s, where the limiter counts them). */
  maxAttempts: number;
  retryBaseMs: number;
  /** Every failed request (429s included), e.g. to count them; must not throw. */
  onRequestError?: (status: number | 'network' | 'timeout' | 'error') => void;
  /** What to add to a message the user can act on (check the API key, the URL). */
  hint: (failure: RemoteRequestError) => string;
  /** The remote refused what only configuration fixes (401, 404): for readiness. */
  onFatal?: (message: string) => void;
}

/** One request: what to send, what it may cost (tokens, for a budget), and what its answer cost and said. */
export interface RemoteRequest<V> {
  send: (signal: AbortSignal) => Promise<V>;
  cost?: () => number;
  answered?: (answer: V) => { cost?: number; limits?: RateLimitHeaders };
  signal: AbortSignal;
  /** Tries for transient failures; default maxAttempts (start-up's warm-up tries once, and waits itself). */
  attempts?: number;
}

/**
 * Sends one request to a remote back end through its limiter, and tries it again while that may help: the one retry
 * policy of TEI and OpenAI-compatible APIs. Each failure is decided in one exhaustive switch over its kind. A
 * refusal of the input (`too-large`, `input`) comes back as the RemoteRequestError, for refusal isolation to split;
 * everything else that ends the request is an EmbeddingError.
 */
export class RemoteSender {
  constructor(
    private readonly limiter: RequestLimiter,
    private readonly options: RemoteSenderOptions,
  ) {}

  send<V>(request: RemoteRequest<V>): Promise<V> {
    const attempts = request.attempts ?? this.options.maxAttempts;
    const tries = { counted: 0, rateLimited: 0, rateLimitedSince: undefined as number | undefined };
    const next = (failure: unknown) => {
      // An abort, or a failure the remote did not cause (a bug), ends the request as it is.
      if (!(failure instanceof RemoteRequestError) || request.signal.aborted) throw failure;
      if (failure.kind === 'rate-limited') {
        const pause = this.limiter.rateLimited(failure, tries.rateLimited++);
        if (pause !== 'attempt') return this.waitOutRateLimit(failure, tries, pause);
      }
      return this.decide(failure, ++tries.counted, attempts);
    };
    return retrying(() => this.once(request), next, request.signal);
  }

  /** One try, holding a permit of the limiter while it is in flight. */
  private async once<V>({ send, cost, answered, signal }: RemoteRequest<V>): Promise<V> {
    const permit = await this.limiter.acquire(cost?.() ?? 0, signal);
    try {
      const answer = await send(signal);
      permit.done({ answered: true, ...answered?.(answer) });
      return answer;
    } catch (error) {
      const failure = error instanceof RemoteRequestError && !signal.aborted ? error : undefined;
      permit.done({ answered: false, failure });
      if (!failure) throw signal.aborted ? signal.reason : error;
      this.options.onRequestError?.(failure.status);
      throw failure;
    }
  }

  /** How long to wait before the next try, or what ends the request. */
  private decide(failure: RemoteRequestError, attempt: number, attempts: number): number {
    switch (failure.kind) {
      case 'too-large':
      case 'input':
        throw failure;
      case 'request':
        throw remoteRequestRefused(failure.message, failure.details.param);
      case 'fatal': {
        const message = `${failure.message}${this.options.hint(failure)}`;
        this.options.onFatal?.(message);
        throw new RemoteUnavailableError(message, false);
      }
      case 'rate-limited':
      case 'transient':
        if (attempt >= attempts) {
          throw new RemoteUnavailableError(`${failure.message}; gave up after ${attempt} attempts`, true);
        }
        return failure.details.retryAfterMs ?? backoffMs(attempt - 1, this.options.retryBaseMs);
      default:
        return assertUnreachable(failure.kind);
    }
  }

  private waitOutRateLimit(failure: RemoteRequestError, tries: { rateLimitedSince?: number }, pauseMs: number): number {
    tries.rateLimitedSince ??= Date.now();
    if (Date.now() - tries.rateLimitedSince > RATE_LIMITED_GIVE_UP_MS) {
      const minutes = RATE_LIMITED_GIVE_UP_MS / 60_000;
      throw new RemoteUnavailableError(`${failure.message}; still rate limited after ${minutes} minutes`, true);
    }
    return pauseMs;
  }
}
