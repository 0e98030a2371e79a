import { childPath } from './json-shape';

/**
 * One pass over a JSON body's bytes, before JSON.parse builds anything: it counts the values, and finds what
 * JSON.parse would silently accept but the service must not (a duplicate key, of which the last one would win; a
 * `\ud800` escape, a lone surrogate that UTF-8 and PostgreSQL cannot hold; nesting deep enough to overflow a
 * recursive validator). It keeps one frame per open container (depth-many at a time) and no object or string per
 * value; the path of a problem is put together only when there is one. The bytes are valid UTF-8 (checked first),
 * so a lone surrogate can only come from an escape. Bytes that are not JSON are left for JSON.parse to refuse.
 */

export enum ScanProblemCode {
  TooManyValues = 'too-many-values',
  TooDeep = 'too-deep',
  DuplicateKey = 'duplicate-key',
  LoneSurrogate = 'lone-surrogate',
}

export interface ScanProblem {
  code: ScanProblemCode;
  message: string;
}

export interface ScanRules {
  /** Most values (numbers, strings, literals, arrays, objects; keys not counted) in one body. */
  maxValues: number;
  /** Deepest nesting; the body's own value is level 1. */
  maxDepth: number;
}

interface Frame {
  array: boolean;
  /** Array: the index of the current item. */
  index: number;
  /** Object: the current key, and the keys seen so far. */
  key: string;
  keys?: Set<string>;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LONE_SURROGATE = 'must be valid Unicode (it holds a lone surrogate)';

const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

const pathOf = (frames: Frame[]) =>
  frames.reduce((path, frame) => childPath(path, frame.array ? frame.index : frame.key), '') || 'body';

/** The code unit of the `\uXXXX` escape at `at` (the backslash), or -1 when there is none. */
function escapedUnit(buffer: Buffer, at: number): number {
  if (buffer[at] !== BACKSLASH || buffer[at + 1] !== 0x75 || at + 6 > buffer.length) return -1;
  const unit = Number.parseInt(buffer.toString('latin1', at + 2, at + 6), 16);
  return Number.isNaN(unit) ? -1 : unit;
}

class Scanner {
  private readonly frames: Frame[] = [];
  private position = 0;
  private values = 0;
  /** True where a value may start: at the top, after `[`, after `,` in an array, after `:`. */
  private expectValue = true;
  /** True where a key may start: after `{` and after `,` in an object. */
  private expectKey = false;
  private escaped = false;
  /** Where the next backslash is (-1: none left), found once and reused, so many strings cost one search. */
  private nextBackslash = -2;

  constructor(
    private readonly buffer: Buffer,
    private readonly rules: ScanRules,
  ) {}

  run(): ScanProblem | undefined {
    const { buffer } = this;
    while (this.position < buffer.length) {
      const problem = this.step(buffer[this.position]);
      if (problem) return problem;
    }
    return undefined;
  }

  private step(byte: number): ScanProblem | undefined {
    if (byte === QUOTE) return this.string();
    this.position++;
    if (isSpace(byte)) return undefined;
    const top = this.frames[this.frames.length - 1];
    switch (byte) {
      case 0x7b: // {
      case 0x5b: // [
        return this.open(byte === 0x5b);
      case 0x7d: // }
      case 0x5d: // ]
        this.frames.pop();
        this.expectValue = this.expectKey = false;
        return undefined;
      case 0x2c: // ,
        if (top?.array) top.index++;
        this.expectValue = top?.array === true;
        this.expectKey = top?.array === false;
        return undefined;
      case 0x3a: // :
        this.expectValue = true;
        return undefined;
      default: // a number or a literal: counted at its first byte
        return this.value();
    }
  }

  private value(): ScanProblem | undefined {
    if (!this.expectValue) return undefined;
    this.expectValue = false;
    if (++this.values <= this.rules.maxValues) return undefined;
    const message = `the body holds more than ${this.rules.maxValues} JSON values (HTTP_MAX_JSON_VALUES)`;
    return { code: ScanProblemCode.TooManyValues, message };
  }

  private open(array: boolean): ScanProblem | undefined {
    const tooMany = this.value();
    if (tooMany) return tooMany;
    if (this.frames.length >= this.rules.maxDepth) {
      const message = `${pathOf(this.frames)} nests deeper than ${this.rules.maxDepth} levels`;
      return { code: ScanProblemCode.TooDeep, message };
    }
    this.frames.push({ array, index: 0, key: '', keys: array ? undefined : new Set() });
    this.expectValue = array;
    this.expectKey = !array;
    return undefined;
  }

  /** A string from its opening quote: a key (checked against its object's others) or a value (counted). */
  private string(): ScanProblem | undefined {
    const start = this.position + 1;
    const surrogate = this.skipString(start);
    const end = this.position - 1;
    const top = this.frames[this.frames.length - 1];
    if (!this.expectKey || !top) {
      if (surrogate)
        return { code: ScanProblemCode.LoneSurrogate, message: `${pathOf(this.frames)} ${LONE_SURROGATE}` };
      return this.value();
    }
    this.expectKey = false;
    top.key = this.decodeKey(start, end);
    if (surrogate)
      return { code: ScanProblemCode.LoneSurrogate, message: `${pathOf(this.frames)} key ${LONE_SURROGATE}` };
    if (!top.keys!.has(top.key)) return void top.keys!.add(top.key);
    const message = `${pathOf(this.frames)} is given twice (duplicate key ${JSON.stringify(top.key.slice(0, 40))})`;
    return { code: ScanProblemCode.DuplicateKey, message };
  }

  /** Moves past the string's closing quote; true when it holds an escaped lone surrogate. */
  private skipString(from: number): boolean {
    const { buffer } = this;
    let lone = false;
    let at = from;
    this.escaped = false;
    for (;;) {
      const quote = buffer.indexOf(QUOTE, at);
      const backslash = this.backslashFrom(at);
      if (quote < 0) {
        this.position = buffer.length;
        return lone;
      }
      if (backslash < 0 || backslash > quote) {
        this.position = quote + 1;
        return lone;
      }
      this.escaped = true;
      const [next, isLone] = this.skipEscape(backslash);
      lone ||= isLone;
      at = next;
    }
  }

  private backslashFrom(at: number): number {
    if (this.nextBackslash !== -1 && this.nextBackslash < at) this.nextBackslash = this.buffer.indexOf(BACKSLASH, at);
    return this.nextBackslash;
  }

  /** The position after the escape at `at`, and whether it is a lone surrogate. */
  private skipEscape(at: number): [number, boolean] {
    const unit = escapedUnit(this.buffer, at);
    if (unit < 0xd800 || unit > 0xdfff) return [at + (unit < 0 ? 2 : 6), false];
    if (unit >= 0xdc00) return [at + 6, true];
    const low = escapedUnit(this.buffer, at + 6);
    return low >= 0xdc00 && low <= 0xdfff ? [at + 12, false] : [at + 6, true];
  }

  private decodeKey(start: number, end: number): string {
    if (!this.escaped) return this.buffer.toString('utf8', start, end);
    try {
      return JSON.parse(this.buffer.toString('utf8', start - 1, end + 1)) as string;
    } catch {
      // Not JSON: JSON.parse refuses the whole body next; the raw bytes serve as the key until then.
      return this.buffer.toString('utf8', start, end);
    }
  }
}

/** The first problem in a JSON body's bytes, or undefined. Costs one pass over them and memory for depth-many frames. */
export function scanJson(buffer: Buffer, rules: ScanRules): ScanProblem | undefined {
  return new Scanner(buffer, rules).run();
}
