import { parseDurationMs, readRateLimitHeaders, waitAskedMs } from '../rate-limit-headers';
import { planRequests } from './request-plan';
import { apportion, TokenCounter } from './token-counts';

describe('apportion', () => {
  it.each([
    [10, [1, 1, 1], [4, 3, 3]],
    [7, [5, 0, 2], [5, 0, 2]],
    [100, [10, 20, 30], [17, 33, 50]],
    [5, [0, 0], [3, 2]],
    [0, [4, 4], [0, 0]],
  ])('splits %i over %j as %j, summing exactly', (total, weights, expected) => {
    const shares = apportion(total, weights);
    expect(shares).toEqual(expected);
    expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
  });

  it('gives back the exact counts when the weights are the remote’s own counts', () => {
    const counts = [12, 7, 31, 1, 64];
    expect(apportion(115, counts)).toEqual(counts);
  });
});

describe('TokenCounter without a tokenizer', () => {
  it('estimates one token per 4 characters, then follows what the remote’s usage says', async () => {
    const counter = new TokenCounter();
    const counts = await counter.count(['a'.repeat(40), 'b'.repeat(8), '']);
    expect(counts).toEqual([10, 2, 1]);
    expect(counter.estimate(counts)).toBe(13);
    for (let answer = 0; answer < 30; answer++) counter.learn(counts, 26);
    expect(counter.estimate(counts)).toBeGreaterThanOrEqual(25);
    expect(counter.estimate(counts)).toBeLessThanOrEqual(26);
  });
});

describe('TokenCounter with an input limit', () => {
  it('counts a text past the limit as the limit (what a truncating remote charges)', async () => {
    const counter = new TokenCounter(5);
    expect(await counter.count(['a'.repeat(12), 'b'.repeat(40)])).toEqual([3, 5]);
  });

  it('keeps an exact count exact: usage equal to the counts leaves the estimate unchanged', async () => {
    const counter = new TokenCounter(5);
    const counts = await counter.count(['a'.repeat(12), 'b'.repeat(40)]);
    for (let answer = 0; answer < 50; answer++) counter.learn(counts, 8);
    expect(counts.map((count) => counter.estimate([count]))).toEqual([3, 5]);
  });
});

describe('planRequests', () => {
  it('cuts by inputs and by estimated tokens; a text larger than the cap goes alone', () => {
    const tokens = [10, 10, 10, 50, 5, 5, 5, 5];
    expect(planRequests([0, 1, 2, 3, 4, 5, 6, 7], (i) => tokens[i], 3, 30)).toEqual([[0, 1, 2], [3], [4, 5, 6], [7]]);
    expect(planRequests([0, 1, 2], () => 1, 100, 100)).toEqual([[0, 1, 2]]);
  });
});

describe('rate limit headers', () => {
  it.each([
    ['1s', 1000],
    ['6m0s', 360_000],
    ['20ms', 20],
    ['1h2m3.5s', 3_723_500],
    ['2', 2000],
    ['soon', undefined],
  ])('reads the duration %s as %s ms', (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it('reads OpenAI’s headers and the wait they ask for', () => {
    const headers = new Headers({
      'x-ratelimit-limit-requests': '3000',
      'x-ratelimit-limit-tokens': '1000000',
      'x-ratelimit-remaining-requests': '2999',
      'x-ratelimit-remaining-tokens': '999000',
      'x-ratelimit-reset-requests': '20ms',
      'x-ratelimit-reset-tokens': '1s',
    });
    const limits = readRateLimitHeaders(headers);
    expect(limits).toEqual({
      limitRequests: 3000,
      limitTokens: 1_000_000,
      remainingRequests: 2999,
      remainingTokens: 999_000,
      resetRequestsMs: 20,
      resetTokensMs: 1000,
      retryAfterMs: undefined,
    });
    expect(waitAskedMs(limits)).toBe(1000);
    expect(waitAskedMs(readRateLimitHeaders(new Headers({ 'retry-after': '3' })))).toBe(3000);
    expect(waitAskedMs(readRateLimitHeaders(new Headers({ 'retry-after-ms': '250', 'retry-after': '3' })))).toBe(250);
  });
});
