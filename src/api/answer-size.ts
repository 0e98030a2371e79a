import { EmbedInput, isText, ModelInfo, TokenIds } from '../embedding/providers/embedding-model';

/**
 * Upper bounds of an answer's JSON size, from the request and the model's info alone, so a route refuses an answer
 * too large before it spends anything on it (AnswerAdmission).
 */

/** A float32 printed as JavaScript's shortest double: sign, up to 17 digits, point, exponent, comma. */
export const JSON_NUMBER_BYTES = 24;
/** base64 of float32 values: 4 bytes become 16/3 characters. */
export const BASE64_NUMBER_BYTES = 16 / 3;
/** One token of /tokenize without its text: {"id":…,"text":"","special":false,"start":…,"stop":…}, */
const TOKEN_JSON_BYTES = 80;
/** Room for the special tokens a tokenizer adds ([CLS], [SEP], a SentencePiece word start). */
const SPECIAL_TOKENS = 4;
/** A decoded token id, at most: a vocabulary piece with its escapes. */
const DECODED_ID_BYTES = 24;
/** Per input, the answer's own fields around its vector (`{"object":"embedding","index":…,"embedding":…}`). */
const ITEM_BYTES = 64;

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * The most tokens an input can become: never more than its UTF-8 bytes (a byte-level tokenizer's worst case) plus
 * the longest prompt and the special tokens; token ids as given.
 */
export function tokenBound(input: EmbedInput, model: ModelInfo): number {
  if (!isText(input)) return input.length;
  const prompt = Math.max(0, ...Object.values(model.prompts).map(utf8Bytes));
  return utf8Bytes(input) + prompt + SPECIAL_TOKENS;
}

/** One vector per input, `dimensions` numbers each, plus each item's fields. */
export function vectorsAnswerBytes(count: number, dimensions: number, numberBytes = JSON_NUMBER_BYTES): number {
  return count * (dimensions * numberBytes + ITEM_BYTES);
}

/** /embed_all: a vector per token, where no input is longer than the model's limit (longer ones are cut or refused). */
export function tokenVectorsAnswerBytes(inputs: EmbedInput[], model: ModelInfo): number {
  const tokens = inputs.reduce((total, input) => total + Math.min(tokenBound(input, model), model.maxTokens), 0);
  return vectorsAnswerBytes(tokens, model.dimensions);
}

/** /tokenize: every token as an object, with its text (a piece of the input, escaped). */
export function tokensAnswerBytes(texts: string[], model: ModelInfo): number {
  return texts.reduce((total, text) => total + tokenBound(text, model) * TOKEN_JSON_BYTES + 2 * utf8Bytes(text), 0);
}

/** /decode: a string per id list. */
export function decodedAnswerBytes(ids: TokenIds[]): number {
  return ids.reduce((total, list) => total + list.length * DECODED_ID_BYTES + ITEM_BYTES, 0);
}
