import { RowVersion } from './vector-cache';

/**
 * Reads the rows of `COPY (SELECT chunk_id[, xmin::text::int8, ctid][, embedding] …) TO STDOUT (FORMAT binary)` as
 * they stream in, in PostgreSQL's binary formats: a bigint; with three or four fields the row's version (xmin as a
 * bigint, ctid as a tid); with two or four, a real[] last. Each vector is handed over as a view of the received
 * bytes, so a scan of 100,000 vectors allocates nothing per row beyond what the stream itself does.
 */
export interface VectorView {
  chunkId: number;
  /** The row's version, when the select has xmin and ctid. */
  version?: RowVersion;
  /** The received bytes; value i is the big-endian float at `first + 8 * i` (each follows its 4-byte length). */
  bytes: Buffer;
  first: number;
  /**
   * The vector's length; 0 when the select has no vector, or the vector is NULL, empty (no dimension) or holds NULLs:
   * such a vector has no direction and can match nothing.
   */
  dimensions: number;
}

const SIGNATURE_LENGTH = 11;
/** Per row: the field count (2 bytes); per field its length (4 bytes, -1 for NULL) and its bytes. */
const FIELD_COUNT = 2;
const FIELD_LENGTH = 4;
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
    if (this.ended || bytes.length - offset < FIELD_COUNT) return -1;
    const fieldCount = bytes.readInt16BE(offset);
    if (fieldCount === -1) {
      this.ended = true;
      return offset + FIELD_COUNT;
    }
    const fields: { at: number; length: number }[] = [];
    let at = offset + FIELD_COUNT;
    for (let field = 0; field < fieldCount; field++) {
      if (bytes.length - at < FIELD_LENGTH) return -1;
      const length = bytes.readInt32BE(at);
      fields.push({ at: at + FIELD_LENGTH, length });
      at += FIELD_LENGTH + Math.max(0, length);
      if (bytes.length < at) return -1;
    }
    this.visit(rowView(bytes, fields));
    return at;
  }
}

function rowView(bytes: Buffer, fields: { at: number; length: number }[]): VectorView {
  const row: VectorView = { chunkId: Number(bytes.readBigInt64BE(fields[0].at)), bytes, first: 0, dimensions: 0 };
  if (fields.length >= 3) {
    const [xmin, ctid] = [fields[1].at, fields[2].at];
    row.version = {
      xmin: Number(bytes.readBigInt64BE(xmin)),
      block: bytes.readUInt32BE(ctid),
      offset: bytes.readUInt16BE(ctid + 4),
    };
  }
  if (fields.length % 2 === 0) {
    const { at: array, length } = fields[fields.length - 1];
    if (length >= ARRAY_HEADER && bytes.readInt32BE(array) === 1 && bytes.readInt32BE(array + 4) === 0) {
      row.first = array + ARRAY_HEADER + 4;
      row.dimensions = bytes.readInt32BE(array + 12);
    }
  }
  return row;
}
