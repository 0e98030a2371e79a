import { Response } from 'express';
import { MemoryBudget, Release } from '../common/memory-budget';
import { EmbeddingError, EmbeddingErrorCode, OVERLOADED_RETRY_AFTER_SECONDS } from '../embedding/embedding.errors';

const MB = 1024 * 1024;
const megabytes = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

/**
 * One request's claim on the answer budgets: `admit` is told the answer's estimated size before any work, refuses
 * it over HTTP_RESPONSE_LIMIT (AnswerTooLarge) or over what is left of HTTP_MEMORY_BUDGET (Overloaded), and holds
 * its share until the response is finished or its client is gone.
 */
export class AnswerAdmission {
  private admitted = 0;

  constructor(
    private readonly budget: MemoryBudget,
    private readonly responseLimit: number,
    private readonly response: Response,
  ) {}

  /** The answer bytes admitted so far (the interceptor streams a large answer in slices). */
  get bytes(): number {
    return this.admitted;
  }

  admit(bytes: number): void {
    const limit = Math.min(this.responseLimit, this.budget.limit);
    if (bytes > limit) {
      const setting = limit === this.responseLimit ? 'HTTP_RESPONSE_LIMIT' : 'HTTP_MEMORY_BUDGET';
      const message =
        `the answer would be about ${megabytes(bytes)}, over ${setting} (${megabytes(limit)}); ` +
        'send fewer or shorter inputs per request';
      const details = { limit: { maximum: limit, given: Math.ceil(bytes) } };
      throw new EmbeddingError(EmbeddingErrorCode.AnswerTooLarge, message, details);
    }
    const release = this.budget.tryAcquire(bytes);
    if (!release) throw overloaded(bytes, this.budget);
    this.admitted += bytes;
    this.holdUntilSent(release);
  }

  private holdUntilSent(release: Release): void {
    // 'close' comes once the answer is written or the connection is gone, whichever is first.
    if (this.response.writableFinished || this.response.destroyed) return release();
    this.response.once('close', release);
  }
}

function overloaded(bytes: number, budget: MemoryBudget): EmbeddingError {
  return new EmbeddingError(
    EmbeddingErrorCode.Overloaded,
    `answers in flight hold ${megabytes(budget.inUse)} of HTTP_MEMORY_BUDGET (${megabytes(budget.limit)}); this ` +
      `one needs about ${megabytes(bytes)}: retry in ${OVERLOADED_RETRY_AFTER_SECONDS} s`,
  );
}

/** An overload answer tells the client when to come back, in every dialect. */
export function setRetryAfter(response: Response, error: unknown): void {
  if (error instanceof EmbeddingError && error.code === EmbeddingErrorCode.Overloaded) {
    response.setHeader('Retry-After', String(OVERLOADED_RETRY_AFTER_SECONDS));
  }
}
