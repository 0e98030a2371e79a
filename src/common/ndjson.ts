import { Response } from 'express';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface NdjsonOptions {
  /** A client that takes nothing for this long has its response ended (cut short); unset: no limit. */
  idleTimeoutMs?: number;
}

/** How much text may wait in the response stream before the next chunk is asked for. */
const BUFFERED_BYTES = 1 << 20;

/**
 * Streams text (whole lines, as strings or UTF-8 bytes) as `application/x-ndjson`, asking for the next piece only when the client has taken
 * the last (backpressure), so memory stays constant. The first piece is read before anything is sent: a failure
 * there is an ordinary error answer. A failure later can only cut the response short (the client sees an
 * incomplete body, never a complete-looking one); a client that goes away, or one that reads nothing for
 * `idleTimeoutMs`, stops the source. Resolves with
 * whether the client got everything.
 */
export async function sendNdjson(
  response: Response,
  lines: AsyncIterable<string | Buffer>,
  options: NdjsonOptions = {},
): Promise<boolean> {
  const iterator = lines[Symbol.asyncIterator]();
  const first = await iterator.next();
  async function* all(): AsyncGenerator<string | Buffer> {
    try {
      if (first.done) return;
      yield first.value;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    } finally {
      await iterator.return?.();
    }
  }
  response.status(200).type('application/x-ndjson; charset=utf-8');
  // The socket's own inactivity timer: it runs only while nothing is written to or read from the socket, which is
  // the case while a client that reads nothing keeps our writes waiting (backpressure). Node resets the socket's
  // timeout when the response ends and the connection is kept alive.
  if (options.idleTimeoutMs) response.setTimeout(options.idleTimeoutMs, () => response.destroy());
  try {
    await pipeline(Readable.from(all(), { objectMode: false, highWaterMark: BUFFERED_BYTES }), response);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE') return false;
    throw error;
  }
}
