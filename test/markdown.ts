import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Reading the README and docs/ as a reader's tools do: fenced blocks by section, links, and GitHub's anchors. */

export const ROOT = resolve(__dirname, '..');

export function readDoc(path: string): string {
  return readFileSync(resolve(ROOT, path), 'utf8');
}

interface Line {
  text: string;
  fenced: boolean;
}

/** Each line with whether it is inside a fenced block (the fences themselves count as inside). */
function lines(markdown: string): Line[] {
  let fenced = false;
  return markdown.split('\n').map((text) => {
    if (text.startsWith('```')) {
      fenced = !fenced;
      return { text, fenced: true };
    }
    return { text, fenced };
  });
}

/** The fenced blocks of one language under the heading `heading` (any level, its own text only), in order. */
export function codeBlocks(markdown: string, lang: string, heading: string): string[] {
  const blocks: string[] = [];
  let current = '';
  let block: string[] | undefined;
  let found = false;
  for (const { text, fenced } of lines(markdown)) {
    if (text.startsWith('```')) {
      if (text === '```' + lang && !block) block = [];
      else if (text === '```' && block) {
        if (current === heading) blocks.push(block.join('\n') + '\n');
        block = undefined;
      }
    } else if (block) block.push(text);
    else if (!fenced && /^#{1,6} /.test(text)) {
      current = text.replace(/^#+ /, '');
      found ||= current === heading;
    }
  }
  if (!found) throw new Error(`no heading "${heading}"`);
  return blocks;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2… */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const { text, fenced } of lines(markdown)) {
    const title = fenced ? null : /^#{1,6} (.*)$/.exec(text);
    if (!title) continue;
    const slug = title[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\- _]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

/** The targets of the Markdown links outside fenced blocks and inline code. */
export function linkTargets(markdown: string): string[] {
  return lines(markdown)
    .filter(({ fenced }) => !fenced)
    .flatMap(({ text }) => [...text.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]));
}
