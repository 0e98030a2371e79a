import { readFileSync } from 'node:fs';
import { Tokenizer } from 'tokenizers';
import { FastWordPiece, TokenizerJson } from './fast-wordpiece';
import { TextToken } from '../embedding-model';
import { TokenizedText } from './tokenized-text';

/**
 * Hugging Face's native (Rust) tokenizer, run without its own truncation and padding: batching does both. BERT
 * WordPiece tokenizers take an exact JavaScript path (fast-wordpiece.ts) for the texts it covers, several times faster
 * than the native one; the native tokenizer encodes the rest meanwhile, off the main thread.
 */
export class TextTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly fastPath?: FastWordPiece,
  ) {
    // tokenizer.json files often carry the settings they were saved with (all-MiniLM-L6-v2's truncates to 128).
    tokenizer.disableTruncation();
    tokenizer.disablePadding();
  }

  static fromFile(path: string, options: { fastPath?: boolean } = {}): TextTokenizer {
    const json = readFileSync(path, 'utf8');
    const fastPath = options.fastPath === false ? undefined : FastWordPiece.fromJson(JSON.parse(json) as TokenizerJson);
    return new TextTokenizer(Tokenizer.fromString(json), fastPath);
  }

  tokenId(token: string): number | undefined {
    return this.tokenizer.tokenToId(token) ?? undefined;
  }

  /** Ids run from 0 to this - 1, added tokens included. */
  get vocabSize(): number {
    return this.tokenizer.getVocabSize(true);
  }

  decode(ids: number[], skipSpecialTokens: boolean): Promise<string> {
    return this.tokenizer.decode(ids, skipSpecialTokens);
  }

  /** Every token with its text and place, for people (TEI's /tokenize); the native tokenizer alone has offsets. */
  async tokens(text: string, addSpecialTokens: boolean): Promise<TextToken[]> {
    const encoding = await this.tokenizer.encode(text, null, { addSpecialTokens });
    const chars = [...text];
    const bytes = utf8Offsets(chars);
    const pieces = encoding.getTokens();
    const special = encoding.getSpecialTokensMask();
    const offsets = encoding.getOffsets();
    return encoding.getIds().map((id, index) => {
      if (special[index] === 1) return { id, text: pieces[index], special: true, start: null, stop: null };
      const [from, to] = offsets[index];
      return { id, text: chars.slice(from, to).join(''), special: false, start: bytes[from], stop: bytes[to] };
    });
  }

  async encode(texts: string[]): Promise<TokenizedText[]> {
    const { fastPath } = this;
    const fast = texts.map((text) => fastPath?.supports(text) ?? false);
    const nativeIndexes = texts.flatMap((_, index) => (fast[index] ? [] : [index]));
    // Started first, so the native tokenizer's threads work while the fast path runs on this one.
    const native = nativeIndexes.length > 0 ? this.encodeNatively(nativeIndexes.map((index) => texts[index])) : [];
    // Awaited below; until then a failure must not count as an unhandled rejection.
    Promise.resolve(native).catch(() => undefined);
    const results = new Array<TokenizedText>(texts.length);
    await this.encodeFast(texts, fast, results);
    (await native).forEach((encoded, position) => (results[nativeIndexes[position]] = encoded));
    return results;
  }

  private async encodeNatively(texts: string[]): Promise<TokenizedText[]> {
    const encodings = await this.tokenizer.encodeBatch(texts);
    return encodings.map((encoding) => ({
      ids: encoding.getIds(),
      typeIds: encoding.getTypeIds(),
      closingSpecialTokens: countTrailingOnes(encoding.getSpecialTokensMask()),
    }));
  }

  /** Yields to the event loop now and then, so a huge request does not stall every other one. */
  private async encodeFast(texts: string[], fast: boolean[], results: TokenizedText[]): Promise<void> {
    let charsSinceYield = 0;
    for (let index = 0; index < texts.length; index++) {
      if (!fast[index]) {
        continue;
      }
      if (charsSinceYield > CHARS_PER_SLICE) {
        await new Promise((resolve) => setImmediate(resolve));
        charsSinceYield = 0;
      }
      results[index] = this.fastPath!.encode(texts[index]);
      charsSinceYield += texts[index].length;
    }
  }
}

/** A few milliseconds of fast-path work between yields, even on slow cores. */
const CHARS_PER_SLICE = 100_000;

/**
 * The UTF-8 byte offset of each code point (and of the end). The native tokenizer reports offsets in code
 * points; TEI reports them in bytes.
 */
function utf8Offsets(chars: string[]): number[] {
  const offsets = [0];
  for (const char of chars) offsets.push(offsets[offsets.length - 1] + Buffer.byteLength(char, 'utf8'));
  return offsets;
}

function countTrailingOnes(mask: number[]): number {
  let count = 0;
  while (count < mask.length && mask[mask.length - 1 - count] === 1) {
    count++;
  }
  return count;
}
