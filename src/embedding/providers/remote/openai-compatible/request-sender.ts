import { backoffMs, sleep } from '../../../../common/backoff';
import { OpenAiClient, OpenAiEmbedAnswer, OpenAiEmbedBody, OpenAiRequestError } from './openai-client';
import { remoteRequestRefused, RemoteUnavailableError } from './openai-compatible.errors';
import { RateBudget } from './rate-budget';
import { waitAskedMs } from './rate-limit-headers';
import { TokenCounter } from './token-counts';

/** A request that keeps meeting 429s gives up after this long, so a remote that never lets up fails the call. */
export const RATE_LIMITED_GIVE_UP_MS = 15 * 60_000;

export interface RequestSenderOptions {
  /** Tries per request for 5xx, 408, network errors and timeouts (429s do not count). */
  maxAttempts: number;
  retryBaseMs: number;
  /** Every failed request (429s included), e.g. to count them; must not throw. */
  onRequestError?: (status: number | 'network' | 'timeout' | 'error') => void;
  /** The remote answered (`undefined`), or refused what only configuration fixes (the reason): for readiness. */
  onHealth?: (problem: string | undefined) => void;
}

/** A request's tries so far: attempts (429s not counted), and its 429s, since when. */
interface Tries {
  attempt: number;
  rateLimited: number;
  rateLimitedSince?: number;
}

/**
 * Sends one request through the rate budget and retries it: 429s wait (Retry-After, or the reset headers) and do
 * not count; transient failures count up to maxAttempts. Every answer feeds the budget (usage, x-ratelimit headers)
 * and the token counter (usage against the estimate).
 */
export class RequestSender {
  constructor(
    private readonly client: OpenAiClient,
    private readonly budget: RateBudget,
    private readonly counter: () => TokenCounter,
    private readonly options: RequestSenderOptions,
  ) {}

  /**
   * The answer; rejects with an OpenAiRequestError only for a refusal of the input (`too-large`, `input`), which the
   * caller splits, and with an EmbeddingError for everything else.
   */
  async send(
    body: OpenAiEmbedBody,
    counts: number[],
    signal: AbortSignal,
    attempts = this.options.maxAttempts,
  ): Promise<OpenAiEmbedAnswer> {
    const tries: Tries = { attempt: 1, rateLimited: 0 };
    for (;;) {
      const estimate = this.counter().estimate(counts);
      const permit = await this.budget.acquire(estimate, signal);
      try {
        const answer = await this.client.embed(body, signal);
        permit.finish(answer.promptTokens ?? estimate);
        this.budget.observe(answer.limits);
        if (answer.promptTokens !== undefined) this.counter().learn(counts, answer.promptTokens);
        this.options.onHealth?.(undefined);
        return answer;
      } catch (error) {
        const failure = error instanceof OpenAiRequestError && !signal.aborted ? error : undefined;
        // A request refused outright did not spend tokens; one that went unanswered may have.
        permit.finish(failure?.details.status !== undefined ? 0 : estimate);
        if (!failure) throw signal.aborted ? signal.reason : error;
        this.options.onRequestError?.(failure.status);
        this.budget.observe(failure.details.limits);
        await this.afterFailure(failure, tries, attempts, signal);
      }
    }
  }

  /** Waits before the next try, or throws when there is none. */
  private async afterFailure(failure: OpenAiRequestError, tries: Tries, attempts: number, signal: AbortSignal) {
    const asked = failure.details.limits && waitAskedMs(failure.details.limits);
    switch (failure.kind) {
      case 'too-large':
      case 'input':
        throw failure;
      case 'request':
        throw remoteRequestRefused(failure.message, failure.details.param);
      case 'fatal':
        this.options.onHealth?.(`${this.client.url}: ${failure.message}${hint(failure)}`);
        throw new RemoteUnavailableError(`${failure.message}${hint(failure)}`, false);
      case 'rate-limited': {
        tries.rateLimitedSince ??= Date.now();
        if (Date.now() - tries.rateLimitedSince > RATE_LIMITED_GIVE_UP_MS) {
          const minutes = RATE_LIMITED_GIVE_UP_MS / 60_000;
          throw new RemoteUnavailableError(`${failure.message}; still rate limited after ${minutes} minutes`, true);
        }
        this.budget.pause(asked ?? backoffMs(tries.rateLimited++, this.options.retryBaseMs));
        return;
      }
      case 'transient':
        if (tries.attempt >= attempts) {
          throw new RemoteUnavailableError(`${failure.message}; gave up after ${tries.attempt} attempts`, true);
        }
        await sleep(asked ?? backoffMs(tries.attempt - 1, this.options.retryBaseMs), signal);
        tries.attempt++;
        return;
    }
  }
}

function hint(failure: OpenAiRequestError): string {
  const status = failure.details.status;
  if (status === 401 || status === 403) return ' (check the API key: api_key_env or api_key_file)';
  if (status === 404) return ' (is url the API base, ending in /v1, and model a name the remote serves?)';
  return '';
}
