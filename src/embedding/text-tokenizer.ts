import { Tokenizer } from 'tokenizers';

export interface TokenizedText {
  ids: number[];
  typeIds: number[];
  /** How many special tokens close the sequence ([SEP] for BERT); truncation keeps them. */
  closingSpecialTokens: number;
}

/** Hugging Face's native (Rust) tokenizer, run without its own truncation and padding: batching does both. */
export class TextTokenizer {
  private constructor(private readonly tokenizer: Tokenizer) {
    // tokenizer.json files often carry the settings they were saved with (all-MiniLM-L6-v2's truncates to 128).
    tokenizer.disableTruncation();
    tokenizer.disablePadding();
  }

  static fromFile(path: string): TextTokenizer {
    return new TextTokenizer(Tokenizer.fromFile(path));
  }

  tokenId(token: string): number | undefined {
    return this.tokenizer.tokenToId(token) ?? undefined;
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
 * Keeps the first tokens and the closing special tokens, as Hugging Face's truncation does (it cuts the text, then
 * adds special tokens). transformers.js instead cuts the final sequence, dropping [SEP]; we deliberately do not.
 */
export function truncateTokens(text: TokenizedText, maxTokens: number): TokenizedText {
  if (text.ids.length <= maxTokens) {
    return text;
  }
  const keepHead = Math.max(maxTokens - text.closingSpecialTokens, 0);
  const cut = (values: number[]) => [
    ...values.slice(0, keepHead),
    ...values.slice(values.length - (maxTokens - keepHead)),
  ];
  return { ids: cut(text.ids), typeIds: cut(text.typeIds), closingSpecialTokens: text.closingSpecialTokens };
}

function countTrailingOnes(mask: number[]): number {
  let count = 0;
  while (count < mask.length && mask[mask.length - 1 - count] === 1) {
    count++;
  }
  return count;
}
