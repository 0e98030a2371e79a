/**
 * What went wrong while embedding. Each API dialect's exception filter maps every code in an exhaustive switch, so a
 * new code does not compile until each dialect says how it answers it.
 */
export enum EmbeddingErrorCode {
  /** A bad option or text (400): `field` names the option, `index` the text. */
  InvalidInput = 'INVALID_INPUT',
  /** No texts at all (no `index`), or an empty text (400). */
  EmptyInput = 'EMPTY_INPUT',
  /** More texts than EMBED_MAX_INPUTS (413). */
  TooManyInputs = 'TOO_MANY_INPUTS',
  /** A text over EMBED_MAX_INPUT_CHARS characters (413). */
  InputTooLarge = 'INPUT_TOO_LARGE',
  /** The answer would be larger than HTTP_RESPONSE_LIMIT (413; TEI: 422 Validation): `limit` holds the bytes. */
  AnswerTooLarge = 'ANSWER_TOO_LARGE',
  /** The process has no memory budget left for the answer now (503; TEI: 429 Overloaded); retry after a moment. */
  Overloaded = 'OVERLOADED',
  /** A text over the model's token limit while truncation is off (400). */
  TooManyTokens = 'TOO_MANY_TOKENS',
  /**
   * The model's back end cannot do what the request asks: token ids as input, token-level vectors, tokenizing,
   * sparse vectors. Not worth retrying.
   */
  UnsupportedOperation = 'UNSUPPORTED_OPERATION',
  /** The requested model is not served here (404). */
  UnknownModel = 'UNKNOWN_MODEL',
  /** No model is ready: none configured, not loaded yet, or it failed to load (503). */
  ModelNotReady = 'MODEL_NOT_READY',
  /** The back end cannot embed now, even after its own retries (a TEI server overloaded or down): worth a retry later. */
  BackendUnavailable = 'BACKEND_UNAVAILABLE',
  /** The vectors were embedded but could not be delivered now; the same request may succeed later (503). */
  DeliveryUnavailable = 'DELIVERY_UNAVAILABLE',
  /** Start-up: a model's files are missing and could not (or may not) be downloaded. */
  ModelFilesUnavailable = 'MODEL_FILES_UNAVAILABLE',
  /** Start-up: the model folder or graph uses a feature this runtime does not implement. */
  UnsupportedModel = 'UNSUPPORTED_MODEL',
  /** Start-up: the configured execution device (CUDA) cannot run on this machine. */
  DeviceUnavailable = 'DEVICE_UNAVAILABLE',
  /** Start-up: the embedding configuration is invalid or does not match the back end. */
  InvalidConfiguration = 'INVALID_CONFIGURATION',
}

export interface EmbeddingErrorDetails {
  /** The request field at fault. */
  field?: string;
  /** The position of the text at fault. */
  index?: number;
  /** The limit a request or text exceeded: the most allowed, and what was given. */
  limit?: { maximum: number; given: number };
}

/** How a request names what an error is about: a text by its position, an option by its name. */
export interface Terms {
  text(index: number): string;
  option(name: string): string;
}

/** The models' own terms: texts as `texts[i]`, options by their EmbedOptions names (`promptName`). */
export const MODEL_TERMS: Terms = { text: (index) => `texts[${index}]`, option: (name) => name };

/** A message that names texts and options through `terms`, so that each caller reads it in its own. */
export type Phrase = (terms: Terms) => string;

/**
 * The one error of the embedding feature: a code for the HTTP layers, a message for people, details for both. A
 * model writes its message as a Phrase; EmbeddingService restates it in the caller's terms (`input[3]`,
 * `prompt_name`) with inTermsOf, from the field and index the error carries, never by rewriting its text.
 */
export class EmbeddingError extends Error {
  readonly field?: string;
  readonly index?: number;
  readonly limit?: { maximum: number; given: number };
  private readonly phrase: Phrase;

  constructor(
    readonly code: EmbeddingErrorCode,
    message: string | Phrase,
    details: EmbeddingErrorDetails = {},
  ) {
    const phrase = typeof message === 'string' ? () => message : message;
    super(phrase(MODEL_TERMS));
    this.name = 'EmbeddingError';
    this.phrase = phrase;
    Object.assign(this, details);
  }

  /**
   * The same error in a request's terms: the message written with its names for texts and options, and the field
   * and index given (a text's position in the request, which may differ from its position in the model's call).
   */
  inTermsOf(terms: Terms, place: Pick<EmbeddingErrorDetails, 'field' | 'index'>): EmbeddingError {
    return new EmbeddingError(this.code, this.phrase(terms), { limit: this.limit, ...place });
  }
}

export function unknownModel(model: string, knownModels: string[]): EmbeddingError {
  const known = knownModels.join(', ') || '(none)';
  return new EmbeddingError(
    EmbeddingErrorCode.UnknownModel,
    `Unknown embedding model "${model}"; configured models: ${known}`,
  );
}

export function modelNotReady(model: string): EmbeddingError {
  return new EmbeddingError(EmbeddingErrorCode.ModelNotReady, `Embedding model "${model}" is not loaded yet`);
}

export function invalidInput(message: string | Phrase, field: string, index?: number): EmbeddingError {
  return new EmbeddingError(EmbeddingErrorCode.InvalidInput, message, { field, index });
}

/** How long a caller refused for overload should wait, in seconds (the Retry-After header). */
export const OVERLOADED_RETRY_AFTER_SECONDS = 1;

/** What EmbeddingService answers for a capability a model lacks (see EmbeddingModel's optional capabilities). */
export function unsupportedOperation(model: string, operation: string): EmbeddingError {
  return new EmbeddingError(
    EmbeddingErrorCode.UnsupportedOperation,
    `The back end of model "${model}" does not support ${operation}`,
  );
}

export function invalidConfiguration(message: string): EmbeddingError {
  return new EmbeddingError(EmbeddingErrorCode.InvalidConfiguration, message);
}
