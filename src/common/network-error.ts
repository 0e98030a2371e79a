import { messageOf } from './message-of';

type Cause = { code?: string; message?: string; errors?: Cause[]; name?: string };

const TLS =
  /^(CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH)/;
const TIMEOUT = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** What kind of failure a socket error code is, in words an operator acts on. */
function reasonOf(code: string): string | undefined {
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'DNS lookup failed (no such host, or no network)';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH') return 'network unreachable';
  if (TIMEOUT.has(code)) return 'timed out';
  if (TLS.test(code)) return 'TLS failed';
  return undefined;
}

/** The first socket error code down the cause chain (libraries wrap fetch's error in their own), a few levels deep. */
function codeOf(cause: Cause & { cause?: Cause }, depth = 0): string | undefined {
  const code = cause.code ?? cause.errors?.find((inner) => inner.code)?.code;
  if (code || depth >= 3 || !cause.cause || typeof cause.cause !== 'object') return code;
  return codeOf(cause.cause, depth + 1);
}

/**
 * fetch (undici) says only "fetch failed"; why is in `cause` (its code: ENOTFOUND, ECONNREFUSED, a certificate
 * error, a connect timeout), an AggregateError of both addresses for dual-stack hosts. This names that cause:
 * `DNS lookup failed (no such host, or no network) [ENOTFOUND]`. Any other error keeps its message.
 */
export function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: Cause } | null)?.cause;
  if (!cause || typeof cause !== 'object') return messageOf(error);
  const code = codeOf(cause);
  const reason = code && reasonOf(code);
  if (reason) return `${reason} [${code}]`;
  if (cause.name === 'TimeoutError' || cause.name === 'AbortError') return 'timed out';
  return cause.message ? `${messageOf(error)}: ${cause.message}` : messageOf(error);
}
