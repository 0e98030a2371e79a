import { readFileSync } from 'node:fs';
import { Tokenizer } from 'tokenizers';
import { TextToken } from '../embedding-model';
import { TokenizedText } from './tokenized-text';

/**
 * Hugging Face's native (Rust) tokenizer, run without its own truncation and padding: batching does both. It encodes
 * off the main thread. (A hand-written WordPiece path was dropped: with the benchmark models it made embedding no
 * faster end to end, since tokenising is about 1 % of an embed call; docs/performance.md has the figures.)
 */
export class TextTokenizer {
  private constructor(private readonly tokenizer: Tokenizer) {
    // tokenizer.json files often carry the settings they were saved with (all-MiniLM-L6-v2's truncates to 128).
    tokenizer.disableTruncation();
    tokenizer.disablePadding();
  }

  static fromFile(path: string): TextTokenizer {
    return new TextTokenizer(Tokenizer.fromString(readFileSync(path, 'utf8')));
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
    const encodings = await this.tokenizer.encodeBatch(texts);
    return encodings.map((encoding) => ({
      ids: encoding.getIds(),
      typeIds: encoding.getTypeIds(),
      closingSpecialTokens: countTrailingOnes(encoding.getSpecialTokensMask()),
    }));
  }
}

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
