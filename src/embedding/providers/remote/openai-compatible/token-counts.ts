import { TextTokenizer } from '../../tokenizer/text-tokenizer';

/** Without a tokenizer: one token per this many characters (UTF-16 code units), until the remote's usage says. */
export const CHARS_PER_TOKEN = 4;
/** How much each answer's usage moves the correction (an exponential moving average). */
const LEARNING_RATE = 0.2;

/**
 * Token counts before a request leaves, for pacing and batching: the remote's own tokenizer when one is configured
 * (a tokenizer.json), else about one token per CHARS_PER_TOKEN characters, each at most the model's input limit (a
 * remote that truncates counts no more; one that refuses charges nothing). Either is then scaled by what the remote's
 * `usage` says it really counted (a moving average of usage ÷ count), so a rough estimate becomes a good one after a
 * few answers and a tokenizer that counts special tokens differently is corrected too.
 */
export class TokenCounter {
  private correction = 1;

  constructor(
    private readonly maxInputTokens = Infinity,
    private readonly tokenizer?: TextTokenizer,
  ) {}

  get exact(): boolean {
    return this.tokenizer !== undefined;
  }

  /** Per text, before correction: the tokenizer's count, or the character estimate. */
  async count(texts: string[]): Promise<number[]> {
    const counts = this.tokenizer
      ? (await this.tokenizer.encode(texts)).map((encoded) => encoded.ids.length)
      : texts.map((text) => Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN)));
    return counts.map((count) => Math.min(count, this.maxInputTokens));
  }

  /** The corrected estimate of a request of texts that counted `counts`. */
  estimate(counts: number[]): number {
    return Math.max(1, Math.ceil(sum(counts) * this.correction));
  }

  /** What the remote counted for texts that counted `counts` here. */
  learn(counts: number[], usage: number): void {
    const counted = sum(counts);
    if (counted <= 0 || usage <= 0) return;
    this.correction += LEARNING_RATE * (usage / counted - this.correction);
  }
}

/**
 * `total` split into whole numbers in proportion to `weights`, summing to `total` exactly (largest remainder: each
 * gets the floor of its share, and the units left over go to the largest fractions, earliest first on ties).
 */
export function apportion(total: number, weights: number[]): number[] {
  if (weights.length === 0) return [];
  const weightSum = sum(weights);
  const shares = weights.map((weight) => (weightSum > 0 ? (total * weight) / weightSum : total / weights.length));
  const result = shares.map(Math.floor);
  let left = total - sum(result);
  const order = shares.map((share, index) => ({ index, fraction: share - Math.floor(share) }));
  order.sort((a, b) => b.fraction - a.fraction || a.index - b.index);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) result[order[k].index]++;
  return result;
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
