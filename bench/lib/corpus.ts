import { COMMON_WORDS, SUFFIX_PIECES, wordsOf } from '../../test/fixtures/model/english-word-pieces';
import { SeededRandom } from '../../test/fixtures/model/seeded-random';

export interface CorpusOptions {
  texts: number;
  minWords: number;
  maxWords: number;
  seed: number;
}

const WORDS = wordsOf(COMMON_WORDS);
const SUFFIXES = wordsOf(SUFFIX_PIECES);
const LETTERS = 'etaoinshrdlcumwfgypbvkjxqz';
const SENTENCE_ENDS = ['.', '.', '.', '?', '!'];

/**
 * Deterministic English-like texts with lengths spread evenly over [minWords, maxWords]: mostly common words, some
 * with suffixes (word pieces), a few made-up words (split into letter pieces), numbers and punctuation, so the
 * token count per word varies as in real text and the longest texts run past a 256-token limit.
 */
export function makeCorpus({ texts, minWords, maxWords, seed }: CorpusOptions): string[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: texts }, () =>
    makeText(random, minWords + Math.floor(random.next() * (maxWords - minWords + 1))),
  );
}

/**
 * makeCorpus's texts with any repeat replaced, so a task embeds exactly as many texts as the provider alone (equal
 * texts are embedded once per batch).
 */
export function uniqueCorpus(options: CorpusOptions): string[] {
  const seen = new Set<string>();
  for (let attempt = 0; seen.size < options.texts; attempt++) {
    const seed = options.seed * 7 + attempt;
    makeCorpus({ ...options, texts: options.texts - seen.size, seed }).forEach((text) => seen.add(text));
  }
  return [...seen];
}

function makeText(random: SeededRandom, words: number): string {
  const parts: string[] = [];
  let sentenceStart = true;
  for (let index = 0; index < words; index++) {
    let word = makeWord(random);
    if (sentenceStart) {
      word = word[0].toUpperCase() + word.slice(1);
    }
    const last = index === words - 1;
    sentenceStart = last || random.next() < 0.08;
    parts.push(word + (sentenceStart ? pick(random, SENTENCE_ENDS) : random.next() < 0.06 ? ',' : ''));
  }
  return parts.join(' ');
}

function makeWord(random: SeededRandom): string {
  const roll = random.next();
  if (roll < 0.03) {
    return String(Math.floor(random.next() * 10_000));
  }
  if (roll < 0.06) {
    const length = 4 + Math.floor(random.next() * 7);
    return Array.from({ length }, () => pick(random, [...LETTERS])).join('');
  }
  const word = pick(random, WORDS);
  return roll < 0.2 ? word + pick(random, SUFFIXES) : word;
}

function pick<T>(random: SeededRandom, values: readonly T[]): T {
  return values[Math.floor(random.next() * values.length)];
}
