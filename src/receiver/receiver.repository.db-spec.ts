import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../test/database';
import { dataSourceOptions } from '../database/data-source.options';
import { FIND_BY_HASHES_SQL, ReceiverRepository, VectorRow } from './receiver.repository';

/** The built-in receiver's SQL on a real PostgreSQL: validation and upsert in one statement, all or nothing. */
describe('ReceiverRepository (real PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let repository: ReceiverRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(dataSourceOptions({ url: db.url })).initialize();
    repository = new ReceiverRepository(dataSource);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  /** Chunks inserted as plain SQL does it: the database sets each content hash. */
  async function chunks(...texts: string[]): Promise<{ id: number; hash: string }[]> {
    return dataSource.query(
      `INSERT INTO mgmt.embed_chunk (text) SELECT unnest($1::text[]) RETURNING id::int, content_hash AS hash`,
      [texts],
    );
  }

  const row = (chunk: { id: number; hash: string }, values: number[]): VectorRow => ({
    chunkId: chunk.id,
    contentHash: chunk.hash,
    vector: Float32Array.from(values),
  });

  /** Each stored value widened to float8 in the database, so the float32 read back is exact, not rounded text. */
  async function stored(model: string): Promise<{ chunk_id: number; dimensions: number; embedding: number[] }[]> {
    return dataSource.query(
      `SELECT chunk_id::int, dimensions, embedding::float8[] AS embedding FROM mgmt.embedding
       WHERE model = $1 ORDER BY chunk_id`,
      [model],
    );
  }

  it('stores every row of a valid batch in one statement, each vector exactly as sent', async () => {
    const [a, b] = await chunks('valid a', 'valid b');
    // float32 values with long decimal forms, the largest and the smallest: the binary real[] keeps every bit.
    const values = [0.1, -1 / 3, 3.4e38, 1.4e-45].map(Math.fround);
    const result = await repository.upsertIfValid('valid', 4, [row(a, values), row(b, [1, 2, 3, 4])]);
    expect(result.stored).toBe(true);
    expect(await stored('valid')).toEqual([
      { chunk_id: a.id, dimensions: 4, embedding: values },
      { chunk_id: b.id, dimensions: 4, embedding: [1, 2, 3, 4] },
    ]);
  });

  it('replaces a (chunk, model) delivered again, so a repeated batch is stored once', async () => {
    const [a] = await chunks('repeated');
    await repository.upsertIfValid('repeat', 2, [row(a, [1, 2])]);
    await repository.upsertIfValid('repeat', 2, [row(a, [3, 4])]);
    expect(await stored('repeat')).toEqual([{ chunk_id: a.id, dimensions: 2, embedding: [3, 4] }]);
  });

  it('stores nothing of a batch holding one stale content hash, and says what each chunk holds now', async () => {
    const [a, b] = await chunks('kept a', 'kept b');
    const stale = { ...b, hash: 'f'.repeat(64) };
    const result = await repository.upsertIfValid('stale', 2, [row(a, [1, 2]), row(stale, [3, 4])]);
    expect(result).toEqual({
      stored: false,
      hashes: new Map([
        [a.id, a.hash],
        [b.id, b.hash],
      ]),
      storedDimensions: undefined,
    });
    expect(await stored('stale')).toEqual([]);
  });

  it('stores nothing of a batch naming an unknown chunk, which is left out of the hashes', async () => {
    const [a] = await chunks('known');
    const result = await repository.upsertIfValid('unknown', 2, [
      row(a, [1, 2]),
      row({ id: 2e9, hash: a.hash }, [3, 4]),
    ]);
    expect(result.stored).toBe(false);
    expect(result.hashes).toEqual(new Map([[a.id, a.hash]]));
    expect(await stored('unknown')).toEqual([]);
  });

  it('refuses a dimension count other than the one already stored for the model, per model', async () => {
    const [a, b] = await chunks('dims a', 'dims b');
    await repository.upsertIfValid('dims', 2, [row(a, [1, 2])]);
    const result = await repository.upsertIfValid('dims', 3, [row(b, [1, 2, 3])]);
    expect(result).toMatchObject({ stored: false, storedDimensions: 2 });
    expect(await stored('dims')).toEqual([{ chunk_id: a.id, dimensions: 2, embedding: [1, 2] }]);
    expect((await repository.upsertIfValid('other dims', 3, [row(b, [1, 2, 3])])).stored).toBe(true);
  });

  it('looks up the same facts without storing: current hashes and the stored dimensions', async () => {
    const [a] = await chunks('looked up');
    await repository.upsertIfValid('lookup', 2, [row(a, [1, 2])]);
    expect(await repository.lookup('lookup', [a.id, 2e9])).toEqual({
      hashes: new Map([[a.id, a.hash]]),
      storedDimensions: 2,
    });
    expect(await repository.lookup('no vectors yet', [])).toEqual({ hashes: new Map(), storedDimensions: undefined });
  });

  it('finds stored vectors by content hash for one model only (what a sender reuses)', async () => {
    const [a, b, c] = await chunks('reuse a', 'reuse b', 'reuse c');
    await repository.upsertIfValid('reuse', 2, [row(a, [1, 2]), row(b, [3, 4])]);
    await repository.upsertIfValid('reuse other', 2, [row(c, [5, 6])]);
    const found = await repository.findByHashes('reuse', [a.hash, c.hash, 'e'.repeat(64)]);
    expect(found).toEqual(new Map([[a.hash, Float32Array.of(1, 2)]]));
  });

  it('finds a text stored under several chunks once, and an empty list answers nothing', async () => {
    const [a, b] = await chunks('same text twice', 'same text twice');
    await repository.upsertIfValid('twice', 2, [row(a, [1, 2]), row(b, [1, 2])]);
    expect(await repository.findByHashes('twice', [a.hash, a.hash])).toEqual(
      new Map([[a.hash, Float32Array.of(1, 2)]]),
    );
    expect(await repository.findByHashes('twice', [])).toEqual(new Map());
  });

  it('reads one index entry per hash beside 20,000 vectors of the model, with statistics from before they existed', async () => {
    // Statistics taken while the model had a handful of vectors, as after a burst of work that autoanalyze has not
    // caught up with: the plan that reads the model's whole index range then looks cheap.
    const few = await chunks(...Array.from({ length: 20 }, (_, index) => `stale ${index}`));
    await repository.upsertIfValid(
      'stale',
      2,
      few.map((chunk) => row(chunk, [1, 2])),
    );
    await dataSource.query('ANALYZE mgmt.embedding');
    await dataSource.query(
      `WITH c AS (INSERT INTO mgmt.embed_chunk (text) SELECT 'stale more ' || g FROM generate_series(1, 20000) g
                  RETURNING id, content_hash)
       INSERT INTO mgmt.embedding (chunk_id, model, dimensions, embedding, content_hash)
       SELECT id, 'stale', 2, '{1,2}', content_hash FROM c`,
    );
    const wanted = [few[0].hash, ...Array.from({ length: 255 }, (_, index) => index.toString(16).padStart(64, 'f'))];
    const [
      {
        'QUERY PLAN': [plan],
      },
    ] = await dataSource.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${FIND_BY_HASHES_SQL}`, ['stale', wanted]);
    const read = embeddingScans(plan.Plan);
    expect(read.length).toBeGreaterThan(0);
    // Each probe returns at most its one row: 256 probes, one hit.
    for (const scan of read) expect(scan.rows).toBeLessThanOrEqual(wanted.length);
    expect(await repository.findByHashes('stale', wanted)).toEqual(new Map([[few[0].hash, Float32Array.of(1, 2)]]));
  });

  it('reads a chunk’s stored vectors back, all models or the one named', async () => {
    const [a] = await chunks('read back');
    await repository.upsertIfValid('read x', 2, [row(a, [1, 2])]);
    await repository.upsertIfValid('read y', 2, [row(a, [3, 4])]);
    expect((await repository.find(a.id)).map((found) => found.model)).toEqual(['read x', 'read y']);
    const [found, ...others] = await repository.find(a.id, 'read y');
    expect(others).toEqual([]);
    expect(found).toMatchObject({ model: 'read y', dimensions: 2, content_hash: a.hash, embedding: [3, 4] });
    expect(Number(found.chunk_id)).toBe(a.id);
    expect(await repository.find(a.id, 'read z')).toEqual([]);
  });
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows each scan of mgmt.embedding produced or threw away, over all its loops, from EXPLAIN ANALYZE. */
function embeddingScans(node: PlanNode): { node: string; rows: number }[] {
  const removed = (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0);
  const own =
    node['Relation Name'] === 'embedding'
      ? [{ node: node['Node Type'], rows: node['Actual Rows'] * node['Actual Loops'] + removed }]
      : [];
  return [...own, ...(node.Plans ?? []).flatMap(embeddingScans)];
}
