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

/**
 * How to send again a request the remote refused for its input or size: cut to the batch limit it named, else
 * halved, until an input refused alone is known to be the bad one.
 */
export function splitForRetry(indexes: number[], namedLimit?: number): number[][] {
  const size = namedLimit && namedLimit < indexes.length ? namedLimit : Math.ceil(indexes.length / 2);
  const parts: number[][] = [];
  for (let start = 0; start < indexes.length; start += size) parts.push(indexes.slice(start, start + size));
  return parts;
}
