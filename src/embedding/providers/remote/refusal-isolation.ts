import { setMaxListeners } from 'node:events';
import { EmbeddingError, invalidInput } from '../../embedding.errors';
import { RemoteRequestError } from './remote-request-error';

/** Sends one request holding the inputs at these indexes and keeps their answers; rejects as RemoteSender does. */
export type SendPart = (indexes: number[], signal: AbortSignal) => Promise<void>;

/** Consecutive runs of at most `size` indexes. */
export function chunkIndexes(indexes: number[], size: number): number[][] {
  const parts: number[][] = [];
  for (let start = 0; start < indexes.length; start += size) parts.push(indexes.slice(start, start + size));
  return parts;
}

/**
 * How to send again a request the remote refused for its inputs or their number, or undefined when splitting cannot
 * help: cut to the batch limit it named, else halved, until an input refused alone is known to be bad.
 */
export function splitRefused(error: unknown, indexes: number[]): number[][] | undefined {
  if (!(error instanceof RemoteRequestError) || !error.refusesInput || indexes.length < 2) return undefined;
  const limit = error.details.maxInputs;
  return chunkIndexes(indexes, limit && limit < indexes.length ? limit : Math.ceil(indexes.length / 2));
}

/**
 * Sends the planned requests all at once (the limiter paces them) and isolates refusals: a request the remote
 * refuses as a whole is split until each bad input stands alone, and that input is refused with the remote's reason
 * while the others are answered. `onLimit` hears of a smaller batch limit the remote named. Any other failure aborts
 * the requests still running and rejects. Answers the reasons of the inputs refused, by index.
 */
export async function sendIsolatingRefusals(
  requests: number[][],
  send: SendPart,
  { signal, onLimit }: { signal?: AbortSignal; onLimit?: (limit: number) => void } = {},
): Promise<Map<number, string>> {
  const refused = new Map<number, string>();
  const abort = new AbortController();
  // Every request waiting for the limiter, sleeping or in flight listens to it: many, by design.
  setMaxListeners(0, abort.signal);
  const onAbort = () => abort.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const run = async (indexes: number[]): Promise<void> => {
    try {
      await send(indexes, abort.signal);
    } catch (error) {
      if (error instanceof RemoteRequestError && error.refusesInput && indexes.length === 1) {
        return void refused.set(indexes[0], error.message);
      }
      const parts = splitRefused(error, indexes);
      if (!parts) throw error;
      const limit = (error as RemoteRequestError).details.maxInputs;
      if (limit) onLimit?.(limit);
      await Promise.all(parts.map(run));
    }
  };
  try {
    await Promise.all(requests.map(run));
    return refused;
  } catch (error) {
    abort.abort(error);
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Each input the remote (`who`) refused on its own, as an error naming its index. When every one of several inputs
 * was refused for the same reason, the request is at fault, not the inputs: the whole call fails.
 */
export function refusalErrors(who: string, count: number, refused: Map<number, string>): Map<number, EmbeddingError> {
  const reasons = new Set(refused.values());
  if (refused.size === count && count > 1 && reasons.size === 1) {
    throw invalidInput(`${who} refused every input: ${[...reasons][0]}`, 'texts');
  }
  const errors = [...refused].map(([index, reason]) => {
    const error = invalidInput((terms) => `${who} refused ${terms.text(index)}: ${reason}`, 'texts', index);
    return [index, error] as const;
  });
  return new Map(errors.sort(([a], [b]) => a - b));
}
