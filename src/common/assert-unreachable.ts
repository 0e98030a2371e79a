/**
 * The default branch of an exhaustive switch: `value` is `never` only while every case is handled, so a new member
 * of the union (a new error code) fails to compile until it is mapped.
 */
export function assertUnreachable(value: never): never {
  throw new Error(`unhandled case: ${String(value)}`);
}
