/** An error's message for a log line or a stored last_error; anything thrown that is not an Error, as a string. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
