import { COMMON_WORDS, SUFFIX_PIECES, wordsOf } from './english-word-pieces';

export const SPECIAL_TOKENS = { pad: '[PAD]', unk: '[UNK]', cls: '[CLS]', sep: '[SEP]', mask: '[MASK]' } as const;

const CONTINUATION = '##';
const LETTERS_BY_FREQUENCY = 'etaoinshrdlcumwfgypbvkjxqz';
const DIGITS = '0123456789';
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/**
 * A WordPiece vocabulary of exactly `size` tokens, index = token id: special tokens first ([PAD] = 0), then every
 * ASCII letter, digit and punctuation mark with its ## form (so any ASCII word tokenises without [UNK]), then
 * common words, suffixes, and letter pairs and triples, most frequent letters first, until the vocabulary is full.
 */
export function buildWordPieceVocabulary(size: number): string[] {
  const vocabulary = new Set<string>(Object.values(SPECIAL_TOKENS));
  for (const token of candidateTokens()) {
    if (vocabulary.size === size) {
      break;
    }
    vocabulary.add(token);
  }
  for (let unused = 0; vocabulary.size < size; unused++) {
    vocabulary.add(`[unused${unused}]`);
  }
  return [...vocabulary];
}

/** Lazy, so a small vocabulary never computes the 17,576 letter triples. */
function* candidateTokens(): Generator<string> {
  const singles = [...LETTERS_BY_FREQUENCY].sort().concat([...DIGITS], [...PUNCTUATION]);
  yield* singles;
  yield* singles.map((single) => CONTINUATION + single);
  yield* wordsOf(COMMON_WORDS);
  yield* wordsOf(SUFFIX_PIECES).map((suffix) => CONTINUATION + suffix);
  yield* withContinuations(letterCombinations(2));
  yield* withContinuations(letterCombinations(3));
}

/** Every `length`-letter string, ordered so combinations of frequent letters come first. */
function letterCombinations(length: number): string[] {
  let combinations: Array<{ text: string; rank: number }> = [{ text: '', rank: 0 }];
  for (let position = 0; position < length; position++) {
    combinations = combinations.flatMap(({ text, rank }) =>
      [...LETTERS_BY_FREQUENCY].map((letter, letterRank) => ({ text: text + letter, rank: rank + letterRank })),
    );
  }
  return combinations.sort((a, b) => a.rank - b.rank || (a.text < b.text ? -1 : 1)).map(({ text }) => text);
}

function withContinuations(pieces: string[]): string[] {
  return pieces.flatMap((piece) => [CONTINUATION + piece, piece]);
}
