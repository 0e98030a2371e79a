import { EmbeddingError, EmbeddingInputError, ModelNotReadyError, UnknownModelError } from './embedding.errors';

/** This instance serves no model at all (EMBEDDING_MODELS is empty): a not-ready condition, so 503. */
export class NoModelConfiguredError extends ModelNotReadyError {
  constructor() {
    super('');
    this.message = 'No embedding model is configured on this instance (EMBEDDING_MODELS is empty)';
  }
}

/** An input list or an input text is empty (400). `index` is unset when the list itself is empty. */
export class EmptyInputError extends EmbeddingInputError {}

/** A request over EMBED_MAX_INPUTS inputs, or an input over EMBED_MAX_INPUT_CHARS characters (413). */
export class InputLimitError extends EmbeddingInputError {
  constructor(
    message: string,
    field: string,
    readonly limit: 'inputs' | 'chars',
    readonly maximum: number,
    readonly given: number,
    index?: number,
  ) {
    super(message, field, index);
  }
}

/** The HTTP status of each embedding failure, shared by the native, OpenAI and TEI routes. */
export function embeddingErrorStatus(error: EmbeddingError): number {
  if (error instanceof InputLimitError) return 413;
  if (error instanceof EmbeddingInputError) return 400;
  if (error instanceof UnknownModelError) return 404;
  if (error instanceof ModelNotReadyError) return 503;
  return 500;
}
