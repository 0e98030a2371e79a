import { CopyVectorReader, VectorView } from './copy-vectors';

interface Row {
  id: number;
  values: number[] | null;
  nulls?: boolean;
  version?: { xmin: number; block: number; offset: number };
  /** Only the id and version (no vector field). */
  versionOnly?: boolean;
}

/** COPY's binary format as PostgreSQL writes it: the header, rows of (bigint[, bigint, tid][, real[]]), the trailer. */
function copyStream(rows: Row[]): Buffer {
  const parts = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), int32(0), int32(4), Buffer.from([1, 2, 3, 4])];
  for (const row of rows) {
    const values = row.values ?? [];
    const array = Buffer.concat([
      int32(row.values === null ? 0 : 1),
      int32(row.nulls ? 1 : 0),
      int32(700),
      ...(row.values === null ? [] : [int32(values.length), int32(1)]),
      ...values.flatMap((value) => [int32(4), float32(value)]),
    ]);
    const id = Buffer.alloc(8);
    id.writeBigInt64BE(BigInt(row.id));
    const version = row.version ? [int32(8), int64(row.version.xmin), int32(6), tid(row.version)] : [];
    const vector = row.versionOnly ? [] : [int32(array.length), array];
    parts.push(int16(1 + version.length / 2 + vector.length / 2), int32(8), id, ...version, ...vector);
  }
  parts.push(int16(-1));
  return Buffer.concat(parts);
}

const int16 = (value: number) => Buffer.from([(value >> 8) & 0xff, value & 0xff]);
const int32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value);
  return bytes;
};
const int64 = (value: number) => {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(BigInt(value));
  return bytes;
};
const tid = ({ block, offset }: { block: number; offset: number }) => {
  const bytes = Buffer.alloc(6);
  bytes.writeUInt32BE(block);
  bytes.writeUInt16BE(offset, 4);
  return bytes;
};
const float32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeFloatBE(value);
  return bytes;
};

type ReadRow = { id: number; values: number[]; version?: Row['version'] };

function read(stream: Buffer, cuts: number[]): { rows: ReadRow[]; complete: boolean } {
  const rows: ReadRow[] = [];
  const reader = new CopyVectorReader((row: VectorView) =>
    rows.push({
      id: row.chunkId,
      values: Array.from({ length: row.dimensions }, (_, i) => row.bytes.readFloatBE(row.first + 8 * i)),
      ...(row.version ? { version: row.version } : {}),
    }),
  );
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    reader.push(stream.subarray(from, cut));
    from = cut;
  }
  return { rows, complete: reader.complete };
}

describe('CopyVectorReader', () => {
  const rows = [
    { id: 1, values: [0.5, -1.25, 3] },
    { id: 2 ** 40, values: [Math.fround(0.1), 0, 0] },
    { id: 3, values: null },
    { id: 4, values: [1, 2, 3], nulls: true },
    { id: 5, values: [7, 8, 9] },
  ];
  const expected = [
    { id: 1, values: [0.5, -1.25, 3] },
    { id: 2 ** 40, values: [Math.fround(0.1), 0, 0] },
    { id: 3, values: [] },
    { id: 4, values: [] },
    { id: 5, values: [7, 8, 9] },
  ];
  const stream = copyStream(rows);

  it('reads every row; an empty array or one holding NULLs has no dimensions', () => {
    expect(read(stream, [])).toEqual({ rows: expected, complete: true });
  });

  it('reads the same whatever the stream is cut into: at every byte, and one byte at a time', () => {
    for (let cut = 1; cut < stream.length; cut++)
      expect(read(stream, [cut])).toEqual({ rows: expected, complete: true });
    const everyByte = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    expect(read(stream, everyByte)).toEqual({ rows: expected, complete: true });
  });

  it('says a stream without its trailer is incomplete', () => {
    expect(read(stream.subarray(0, stream.length - 2), []).complete).toBe(false);
  });

  it("reads each row's version (xmin, ctid) when the select has one, with or without the vector", () => {
    const versioned: Row[] = [
      { id: 9, values: [1, 2], version: { xmin: 4_000_000_000, block: 2 ** 32 - 1, offset: 65_535 } },
      { id: 10, values: null, version: { xmin: 3, block: 0, offset: 1 }, versionOnly: true },
    ];
    const versionStream = copyStream(versioned);
    for (let cut = 1; cut < versionStream.length; cut++) {
      expect(read(versionStream, [cut])).toEqual({
        rows: [
          { id: 9, values: [1, 2], version: versioned[0].version },
          { id: 10, values: [], version: versioned[1].version },
        ],
        complete: true,
      });
    }
  });
});
