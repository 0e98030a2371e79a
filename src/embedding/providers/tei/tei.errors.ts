import { EmbeddingConfigError, EmbeddingError } from '../../embedding.errors';

/**
 * TEI could not embed now (overloaded, down, timing out) even after the provider's own retries: transient, so the
 * sender puts the chunks back for a later attempt. The message keeps TEI's own error.
 */
export class TeiUnavailableError extends EmbeddingError {
  constructor(
    message: string,
    /** TEI's Retry-After, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** EMBEDDING_MODELS names a model that the TEI server does not serve: refusing beats storing wrong vectors. */
export class TeiModelMismatchError extends EmbeddingConfigError {
  constructor(
    readonly configured: string,
    readonly served: string,
    url: string,
  ) {
    super(
      `EMBEDDING_MODELS names "${configured}" but the TEI server at ${url} serves "${served}" (GET /info model_id): ` +
        `set EMBEDDING_MODELS=${served}, leave it empty to take whatever TEI serves, or point TEI_URL at a server ` +
        `running ${configured}`,
    );
  }
}
