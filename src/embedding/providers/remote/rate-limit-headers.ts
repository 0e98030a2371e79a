/**
 * What a remote said about its rate limits: OpenAI's `x-ratelimit-*` headers (also sent by Azure, Mistral, Voyage
 * and others in the same form), and how long to wait (`Retry-After`, `retry-after-ms`). Each field is undefined when
 * its header is absent or unreadable.
 */
export interface RateLimitHeaders {
  limitRequests?: number;
  limitTokens?: number;
  remainingRequests?: number;
  remainingTokens?: number;
  /** Until the request and token limits are back to full, in milliseconds. */
  resetRequestsMs?: number;
  resetTokensMs?: number;
  /** `retry-after-ms`, else `Retry-After` (seconds or an HTTP date). */
  retryAfterMs?: number;
}

export function readRateLimitHeaders(headers: Headers): RateLimitHeaders {
  const number = (name: string) => {
    const value = headers.get(name);
    const parsed = value === null || value.trim() === '' ? NaN : Number(value);
    return Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
  };
  const duration = (name: string) => parseDurationMs(headers.get(name));
  return {
    limitRequests: number('x-ratelimit-limit-requests'),
    limitTokens: number('x-ratelimit-limit-tokens'),
    remainingRequests: number('x-ratelimit-remaining-requests'),
    remainingTokens: number('x-ratelimit-remaining-tokens'),
    resetRequestsMs: duration('x-ratelimit-reset-requests'),
    resetTokensMs: duration('x-ratelimit-reset-tokens'),
    retryAfterMs: number('retry-after-ms') ?? retryAfter(headers.get('retry-after')),
  };
}

/** The longest wait the headers ask for before trying again, if any. */
export function waitAskedMs(limits: RateLimitHeaders): number | undefined {
  if (limits.retryAfterMs !== undefined) return limits.retryAfterMs;
  const resets = [limits.resetRequestsMs, limits.resetTokensMs].filter((ms): ms is number => ms !== undefined);
  return resets.length > 0 ? Math.max(...resets) : undefined;
}

/** OpenAI's durations: `1s`, `6m0s`, `20ms`, `1h2m3.5s`; a plain number is seconds. */
export function parseDurationMs(value: string | null): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  return parts.reduce((total, [, amount, name]) => total + Number(amount) * unit[name], 0);
}

function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
