/** Base class, so callers can tell embedding failures from programming errors. */
export class EmbeddingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request is wrong (maps to 400): `field` names the offending option, `index` the offending text. */
export class EmbeddingInputError extends EmbeddingError {
  constructor(
    message: string,
    readonly field: string,
    readonly index?: number,
  ) {
    super(message);
  }
}

/** A text has more tokens than the model takes and truncation is off (an EmbeddingInputError, so 400). */
export class InputTooLongError extends EmbeddingInputError {
  constructor(
    message: string,
    index: number,
    readonly tokens: number,
    readonly maxTokens: number,
  ) {
    super(message, 'texts', index);
  }
}

/** The requested model is not configured (maps to 404). */
export class UnknownModelError extends EmbeddingError {
  constructor(
    readonly model: string,
    readonly knownModels: string[],
  ) {
    super(`Unknown embedding model "${model}"; configured models: ${knownModels.join(', ') || '(none)'}`);
  }
}

/** The model is configured but not loaded yet, or failed to load (maps to 503). */
export class ModelNotReadyError extends EmbeddingError {
  constructor(readonly model: string) {
    super(`Embedding model "${model}" is not loaded yet`);
  }
}

/** Model files are missing locally and could not be (or may not be) downloaded. */
export class ModelFilesNotFoundError extends EmbeddingError {
  constructor(
    readonly model: string,
    readonly missingFiles: string[],
    readonly searchedLocations: string[],
    reason: string,
  ) {
    super(
      `Model "${model}": ${reason}. Missing: ${missingFiles.join(', ')}. Looked in: ${searchedLocations.join(', ')}`,
    );
  }
}

/** The model folder uses a sentence-transformers feature this runtime does not implement. */
export class UnsupportedModelError extends EmbeddingError {}

/** The configured execution provider (e.g. CUDA) cannot run on this machine. */
export class ExecutionProviderUnavailableError extends EmbeddingError {}

/** Provider configuration is invalid (a configuration bug, found at startup). */
export class EmbeddingConfigError extends EmbeddingError {}
