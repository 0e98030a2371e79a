import { setMaxListeners } from 'node:events';
import { TeiRequestError } from './tei-client';

/** Sends one batch (the indexes of the texts it holds) and answers one vector (or token vectors) per index, in order. */
export type SendBatch<V = Float32Array> = (indexes: number[], signal: AbortSignal) => Promise<V[]>;

export interface SplitResult<V = Float32Array> {
  vectors: Map<number, V>;
  /** Why TEI refused each input it refused on its own, by index. */
  refused: Map<number, string>;
}

/** Consecutive runs of at most `size` indexes. */
export function chunkIndexes(indexes: number[], size: number): number[][] {
  const batches: number[][] = [];
  for (let start = 0; start < indexes.length; start += size) batches.push(indexes.slice(start, start + size));
  return batches;
}

/**
 * How to retry a batch TEI refused as a whole, or undefined when splitting cannot help (rethrow): a 413 naming
 * TEI's batch limit re-cuts it to that size; any other 413, a 422 or a 400 halves it, until an input refused alone
 * is known to be bad.
 */
export function splitFor(error: unknown, batch: number[]): number[][] | undefined {
  if (!(error instanceof TeiRequestError) || batch.length < 2) return undefined;
  if (error.kind !== 'too-large' && error.kind !== 'input') return undefined;
  const limit = error.details.maxBatchSize;
  if (limit && limit >= 1 && limit < batch.length) return chunkIndexes(batch, limit);
  return chunkIndexes(batch, Math.ceil(batch.length / 2));
}

/** An input TEI refused on its own: a batch of one that got 413, 422 or 400. */
function refusedAlone(error: unknown, batch: number[]): boolean {
  return (
    error instanceof TeiRequestError && batch.length === 1 && (error.kind === 'too-large' || error.kind === 'input')
  );
}

/**
 * Embeds `count` texts in batches of at most `batchSize`, all sent at once (the sender's window paces them). A batch
 * TEI refuses as a whole is split until each bad input stands alone and is recorded as refused; the rest are
 * embedded. Any other error (after `send`'s own retries) aborts the batches still running and rejects.
 */
export async function embedSplitting<V = Float32Array>(
  indexes: number[],
  batchSize: number,
  send: SendBatch<V>,
  signal?: AbortSignal,
): Promise<SplitResult<V>> {
  const result: SplitResult<V> = { vectors: new Map(), refused: new Map() };
  const abort = new AbortController();
  // Every batch waiting for a window slot, sleeping or in flight listens to it: many, by design.
  setMaxListeners(0, abort.signal);
  const onAbort = () => abort.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const run = async (batch: number[]): Promise<void> => {
    try {
      const vectors = await send(batch, abort.signal);
      batch.forEach((index, position) => result.vectors.set(index, vectors[position]));
    } catch (error) {
      if (refusedAlone(error, batch)) return void result.refused.set(batch[0], (error as Error).message);
      const parts = splitFor(error, batch);
      if (!parts) throw error;
      await Promise.all(parts.map(run));
    }
  };
  try {
    await Promise.all(chunkIndexes(indexes, batchSize).map(run));
    return result;
  } catch (error) {
    abort.abort(error);
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
