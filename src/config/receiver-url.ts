/** The path of the receiver contract's endpoint under a receiver's base URL. */
export const RECEIVER_PATH = 'receiver/embeddings';

/**
 * RECEIVER_URL as a base URL: `http://host:port`, with or without a path prefix or trailing slash, or the full
 * endpoint `http://host:port/receiver/embeddings`, which is cut back to its base (delivery adds the path itself).
 */
export function receiverBaseUrl(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return trimmed.endsWith(`/${RECEIVER_PATH}`) ? trimmed.slice(0, -RECEIVER_PATH.length - 1) : trimmed;
}

/** The endpoint delivery POSTs to (and readiness probes). */
export function receiverEndpoint(url: string): string {
  return `${receiverBaseUrl(url)}/${RECEIVER_PATH}`;
}
