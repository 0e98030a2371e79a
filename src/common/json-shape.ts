/**
 * Limits on the shape of JSON the service accepts, checked without recursion so that no body, however deep, can
 * overflow the stack (JSON.parse itself is iterative in V8; class-transformer and class-validator are not).
 */

/** Deepest nesting of a whole request body: metadata's limit plus room for the routes' own shapes. */
export const BODY_MAX_DEPTH = 64;

/** Deepest nesting inside a `metadata` object (the object itself is level 1). */
export const METADATA_MAX_DEPTH = 32;

/** Nodes visited between yields to the event loop while a big body is walked. */
export const WALK_SLICE = 20_000;

interface Node {
  value: unknown;
  path: string;
  depth: number;
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
function childPath(path: string, key: string | number): string {
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

/** Checks one node and queues its children; the problem found, if any. */
function visit(node: Node, rules: ShapeRules, stack: Node[]): ShapeProblem | undefined {
  const { value, path, depth } = node;
  if (typeof value === 'string') {
    const message = stringProblem(value, rules.refuseNul);
    return message ? { path, message } : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > rules.maxDepth) return { path, message: `nests deeper than ${rules.maxDepth} levels` };
  if (Array.isArray(value)) {
    for (let i = value.length - 1; i >= 0; i--)
      stack.push({ value: value[i], path: childPath(path, i), depth: depth + 1 });
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    const message = stringProblem(key, rules.refuseNul);
    if (message) return { path: childPath(path, key), message: `key ${message}` };
    stack.push({ value: child, path: childPath(path, key), depth: depth + 1 });
  }
  return undefined;
}

/** The first problem in `value` (depth-first, in document order), checked iteratively. */
export function findShapeProblem(value: unknown, path: string, rules: ShapeRules): ShapeProblem | undefined {
  const stack: Node[] = [{ value, path, depth: 1 }];
  for (let node = stack.pop(); node; node = stack.pop()) {
    const problem = visit(node, rules, stack);
    if (problem) return problem;
  }
  return undefined;
}

/** The same, yielding to the event loop every WALK_SLICE nodes, for whole request bodies. */
export async function findShapeProblemYielding(value: unknown, rules: ShapeRules): Promise<ShapeProblem | undefined> {
  const stack: Node[] = [{ value, path: '', depth: 1 }];
  let visited = 0;
  for (let node = stack.pop(); node; node = stack.pop()) {
    const problem = visit(node, rules, stack);
    if (problem) return problem;
    if (++visited % WALK_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return undefined;
}
