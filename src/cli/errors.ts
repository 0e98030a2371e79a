/**
 * Exit codes of the CLI, so scripts can tell a task that ended badly from a tool that could not do its job.
 */
export const EXIT = {
  ok: 0,
  /** The server was unreachable, refused the request, or the input could not be read. */
  error: 1,
  /** The command line itself is wrong. */
  usage: 2,
  /** The task ended with failed chunks. */
  taskFailed: 3,
  /** The task was cancelled. */
  taskCancelled: 4,
  /** Interrupted (Ctrl-C) while following; the task goes on. */
  interrupted: 130,
} as const;

/** An error whose message is meant for the user as it is (no stack trace), with the exit code to end with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.error,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** An HTTP answer outside 2xx, with the server's own message. */
export class ApiError extends CliError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}
