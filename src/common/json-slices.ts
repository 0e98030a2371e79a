import { setImmediate as nextTurn } from 'node:timers/promises';

type Primitive = string | number | boolean | null | undefined;

const isPrimitive = (value: unknown): value is Primitive => value === null || typeof value !== 'object';

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
};

/** JSON.stringify's text of an array element: undefined and functions become null there. */
const element = (value: unknown): string => JSON.stringify(value) ?? 'null';

/**
 * The text JSON.stringify would write, in pieces: an array or object of plain values (one vector, one token) is one
 * piece, anything holding arrays or objects is walked. So no piece is larger than the largest such leaf.
 */
function* pieces(value: unknown): Generator<string, void, undefined> {
  if (Array.isArray(value)) {
    if (value.every(isPrimitive)) {
      yield JSON.stringify(value.map((item: unknown) => (item === undefined ? null : item)));
      return;
    }
    yield '[';
    for (let index = 0; index < value.length; index += 1) {
      if (index > 0) yield ',';
      const item: unknown = value[index];
      yield* isPrimitive(item) ? [element(item)] : pieces(item);
    }
    yield ']';
    return;
  }
  if (!isPlainObject(value)) {
    yield element(value);
    return;
  }
  const entries = Object.entries(value).filter(([, item]) => item !== undefined && typeof item !== 'function');
  if (entries.every(([, item]) => isPrimitive(item))) {
    yield JSON.stringify(value);
    return;
  }
  yield '{';
  for (let index = 0; index < entries.length; index += 1) {
    const [key, item] = entries[index];
    yield `${index > 0 ? ',' : ''}${JSON.stringify(key)}:`;
    yield* pieces(item);
  }
  yield '}';
}

/**
 * A value's JSON text in slices of about `sliceChars`, yielding the event loop between them: a 64 MB answer is
 * written without one long JSON.stringify that would hold every other request (and /health/live) for seconds, and
 * without its whole text in memory at once.
 */
export async function* jsonSlices(value: unknown, sliceChars = 64 * 1024): AsyncGenerator<string> {
  let slice = '';
  for (const piece of pieces(value)) {
    slice += piece;
    if (slice.length < sliceChars) continue;
    yield slice;
    slice = '';
    await nextTurn();
  }
  if (slice.length > 0) yield slice;
}
