/**
 * Where a part may end, strongest first. Each finder returns the cut position in `window` (the part is
 * `window.slice(0, cut)`), or -1.
 */
const BOUNDARIES: ((window: string) => number)[] = [
  (window) => lastMatch(window, /\n[ \t]*\n/g, 'start'), // paragraph
  (window) => lastMatch(window, /\n/g, 'start'), // line
  (window) => lastMatch(window, /[.!?…。！？]['"”’)\]]*(?=\s)/g, 'end'), // sentence
  (window) => lastMatch(window, /\s/g, 'start'), // word
];

/**
 * Splits `text` into trimmed parts of at most `maxChars` characters (UTF-16 code units, JavaScript's length), each
 * as long as it can be: the cut falls on the strongest boundary in the second half of the allowed length (a
 * paragraph, then a line, a sentence, a space), else on the last boundary of any kind, else mid-word.
 */
export function splitText(text: string, maxChars: number): string[] {
  if (!Number.isInteger(maxChars) || maxChars < 1)
    throw new RangeError(`maxChars must be a positive integer; got ${maxChars}`);
  const parts: string[] = [];
  let rest = text.replace(/\r\n?/g, '\n').trim();
  while (rest.length > maxChars) {
    const cut = cutPosition(rest, maxChars);
    const part = rest.slice(0, cut).trim();
    if (part) parts.push(part);
    rest = rest.slice(cut).trimStart();
  }
  if (rest) parts.push(rest);
  return parts;
}

function cutPosition(text: string, maxChars: number): number {
  // One character more than allowed, so that a boundary right after a full-length part is seen.
  const window = text.slice(0, maxChars + 1);
  const cuts = BOUNDARIES.map((find) => find(window));
  const strong = cuts.find((cut) => cut >= maxChars / 2);
  if (strong !== undefined) return strong;
  const latest = Math.max(...cuts);
  if (latest > 0) return latest;
  // No boundary at all: cut at the limit, but never between the two halves of a surrogate pair.
  return isHighSurrogate(text.charCodeAt(maxChars - 1)) && maxChars > 1 ? maxChars - 1 : maxChars;
}

function lastMatch(window: string, pattern: RegExp, cutAt: 'start' | 'end'): number {
  let cut = -1;
  for (const match of window.matchAll(pattern)) {
    const position = cutAt === 'start' ? match.index : match.index + match[0].length;
    if (position > 0) cut = position;
  }
  return cut;
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
