/** A text as token ids, what the tokenizer hands to batching. */
export interface TokenizedText {
  ids: number[];
  typeIds: number[];
  /** How many special tokens close the sequence ([SEP] for BERT); truncation keeps them. */
  closingSpecialTokens: number;
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
