/**
 * Reads the rows of `COPY (SELECT chunk_id, embedding …) TO STDOUT (FORMAT binary)` as they stream in: one bigint and
 * one real[] per row, in PostgreSQL's binary formats. Each vector is handed over as a view of the received bytes, so a
 * scan of 100,000 vectors allocates nothing per row beyond what the stream itself does.
 */
export interface VectorView {
  chunkId: number;
  /** The received bytes; value i is the big-endian float at `first + 8 * i` (each follows its 4-byte length). */
  bytes: Buffer;
  first: number;
  dimensions: number;
}

const SIGNATURE_LENGTH = 11;
/** Per row: field count (2), then each field's length (4): bigint 8 bytes, then the array. */
const ROW_FIXED = 2 + 4 + 8 + 4;
/** The array's header: dimensions, has-nulls flag, element type, then length and lower bound of its one dimension. */
const ARRAY_HEADER = 20;

export class CopyVectorReader {
  private pending: Buffer = Buffer.alloc(0);
  private headerRead = false;
  private ended = false;

  constructor(private readonly visit: (row: VectorView) => void) {}

  /** Feeds the next piece of the stream; rows complete in it are visited, a partial last row waits for the next. */
  push(piece: Buffer): void {
    const bytes = this.pending.length === 0 ? piece : Buffer.concat([this.pending, piece]);
    let offset = this.headerRead ? 0 : this.readHeader(bytes);
    if (offset < 0) {
      this.pending = bytes;
      return;
    }
    this.headerRead = true;
    for (;;) {
      const next = this.readRow(bytes, offset);
      if (next < 0) break;
      offset = next;
    }
    this.pending = bytes.subarray(offset);
  }

  /** Whether the stream's trailer was seen (a stream cut short has none). */
  get complete(): boolean {
    return this.ended && this.pending.length === 0;
  }

  private readHeader(bytes: Buffer): number {
    if (bytes.length < SIGNATURE_LENGTH + 8) return -1;
    const end = SIGNATURE_LENGTH + 8 + bytes.readInt32BE(SIGNATURE_LENGTH + 4);
    return bytes.length < end ? -1 : end;
  }

  /** The offset after the row at `offset`, or -1 when it is not all here yet (or the trailer was read). */
  private readRow(bytes: Buffer, offset: number): number {
    if (this.ended || bytes.length - offset < 2) return -1;
    if (bytes.readInt16BE(offset) === -1) {
      this.ended = true;
      return offset + 2;
    }
    if (bytes.length - offset < ROW_FIXED) return -1;
    const arrayLength = bytes.readInt32BE(offset + 14);
    const end = offset + ROW_FIXED + arrayLength;
    if (bytes.length < end) return -1;
    const array = offset + ROW_FIXED;
    // An empty array (no dimension) or one holding NULLs has no direction: it can match nothing.
    if (arrayLength >= ARRAY_HEADER && bytes.readInt32BE(array) === 1 && bytes.readInt32BE(array + 4) === 0) {
      const chunkId = Number(bytes.readBigInt64BE(offset + 6));
      this.visit({ chunkId, bytes, first: array + ARRAY_HEADER + 4, dimensions: bytes.readInt32BE(array + 12) });
    }
    return end;
  }
}
