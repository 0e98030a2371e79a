/**
 * Limits on the shape of JSON the service accepts, checked without recursion so that no body, however deep, can
 * overflow the stack (JSON.parse itself is iterative in V8; class-transformer and class-validator are not).
 */

/** Deepest nesting of a whole request body: metadata's limit plus room for the routes' own shapes. */
export const BODY_MAX_DEPTH = 64;

/** Deepest nesting inside a `metadata` object (the object itself is level 1). */
export const METADATA_MAX_DEPTH = 32;

/** An open array or object of the walk: one per level, never one per value. */
interface Frame {
  container: unknown[] | Record<string, unknown>;
  /** An object's keys; undefined for an array. */
  keys?: string[];
  next: number;
  /** The key or index being visited, for the path of a problem. */
  at: string | number;
}

/** Where a value breaks the rules, and how; undefined when it does not. */
export interface ShapeProblem {
  path: string;
  message: string;
}

export interface ShapeRules {
  maxDepth: number;
  /** PostgreSQL text and jsonb cannot hold U+0000. */
  refuseNul: boolean;
}

/**
 * `chunks.0.metadata.page`, as the validation messages name fields, or `metadata["a b"]` for a key that is not a
 * plain name (cut to 40 characters: the message names the place, it need not repeat the client's data).
 */
export function childPath(path: string, key: string | number): string {
  const name = typeof key === 'number' || /^[A-Za-z_$][\w$]*$/.test(key) ? String(key) : undefined;
  if (name === undefined) return `${path}[${JSON.stringify((key as string).slice(0, 40))}]`;
  return path ? `${path}.${name}` : name;
}

/** String.prototype.isWellFormed (Node 20+, ES2024: newer than the lib this project compiles against). */
const isWellFormed = (value: string) => (value as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Why a string cannot be stored as sent: a lone surrogate (not Unicode: UTF-8 cannot carry it) or, if refused, NUL. */
export function stringProblem(value: string, refuseNul: boolean): string | undefined {
  if (!isWellFormed(value)) return 'must be valid Unicode (it holds a lone surrogate)';
  if (refuseNul && value.includes('\u0000')) return 'must not contain NUL (\\u0000) characters';
  return undefined;
}

/** Checks a value about to be visited; opens a frame for an array or object. The problem, if any. */
function enter(value: unknown, frames: Frame[], rules: ShapeRules): string | undefined {
  if (typeof value === 'string') return stringProblem(value, rules.refuseNul);
  if (value === null || typeof value !== 'object') return undefined;
  if (frames.length + 1 > rules.maxDepth) return `nests deeper than ${rules.maxDepth} levels`;
  const container = value as Frame['container'];
  frames.push({ container, keys: Array.isArray(value) ? undefined : Object.keys(value), next: 0, at: 0 });
  return undefined;
}

/** Visits the next child of the innermost open container (closing it when it has none left). */
function visitNext(frames: Frame[], rules: ShapeRules): string | undefined {
  const frame = frames[frames.length - 1];
  const { container, keys } = frame;
  if (frame.next >= (keys ?? (container as unknown[])).length) return void frames.pop();
  if (!keys) return enter((container as unknown[])[(frame.at = frame.next++)], frames, rules);
  const key = (frame.at = keys[frame.next++]);
  const message = stringProblem(key, rules.refuseNul);
  return message ? `key ${message}` : enter((container as Record<string, unknown>)[key], frames, rules);
}

/**
 * The first problem in `value` (depth-first, in document order), checked iteratively with one frame per open level
 * and no object or string per value: the path is put together only for a problem.
 */
export function findShapeProblem(value: unknown, path: string, rules: ShapeRules): ShapeProblem | undefined {
  const frames: Frame[] = [];
  let message = enter(value, frames, rules);
  while (!message && frames.length > 0) message = visitNext(frames, rules);
  if (!message) return undefined;
  return { path: frames.reduce((at, frame) => childPath(at, frame.at), path), message };
}
