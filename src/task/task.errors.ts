export enum TaskErrorCode {
  /** No task or chunk with that id (404). */
  NotFound = 'NOT_FOUND',
  /** The task's state forbids the action: cancel a finished task, retry one with no failed chunk (409). */
  Conflict = 'CONFLICT',
  /** The request is wrong beyond what validation catches: no chunks, unknown chunk ids, a model not served (400). */
  InvalidInput = 'INVALID_INPUT',
  /** More chunks in one request than TASK_MAX_CHUNKS_PER_REQUEST (413). */
  TooManyChunks = 'TOO_MANY_CHUNKS',
  /** A chunk text longer than TASK_MAX_TEXT_CHARS (413). */
  TextTooLong = 'TEXT_TOO_LONG',
  /** TASK_EXPORT_MAX_CONCURRENT exports are already streaming (429 with Retry-After). */
  TooManyExports = 'TOO_MANY_EXPORTS',
}

/** The one error of the task feature; TaskExceptionFilter answers it. */
export class TaskError extends Error {
  constructor(
    readonly code: TaskErrorCode,
    message: string,
    /** Seconds the client should wait before asking again (Retry-After), when waiting helps. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'TaskError';
  }
}
