/**
 * Consecutive runs of texts (by index) for one request each: at most `maxInputs` texts and, unless a single text
 * is larger on its own, at most `maxTokens` estimated tokens.
 */
export function planRequests(
  indexes: number[],
  tokensOf: (index: number) => number,
  maxInputs: number,
  maxTokens: number,
): number[][] {
  const requests: number[][] = [];
  let current: number[] = [];
  let tokens = 0;
  for (const index of indexes) {
    const size = tokensOf(index);
    if (current.length > 0 && (current.length >= maxInputs || tokens + size > maxTokens)) {
      requests.push(current);
      [current, tokens] = [[], 0];
    }
    current.push(index);
    tokens += size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}
