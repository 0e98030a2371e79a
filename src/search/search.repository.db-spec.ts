import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../test/database';
import { cosine } from '../common/cosine';
import { AppConfig } from '../config/app-config';
import { loadConfig } from '../config/config.loader';
import { dataSourceOptions } from '../database/data-source.options';
import { ReceiverRepository } from '../receiver/receiver.repository';
import { SearchBackend } from './search-backend';
import { SearchRepository } from './search.repository';
import { ExactVectorSearch, VectorQuery } from './vector-search';

/** A seeded generator, so that a failure can be run again as it was. */
function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
}

const DIMENSIONS = 24;

/**
 * The exact search on a real PostgreSQL (the embedded one, or TEST_DATABASE_URL's: CI runs both): its top k equals a
 * brute-force top k computed here, over the same stored float32 values, with ties, zero vectors, tasks and metadata
 * filters, read in 1, 2 and 3 streams (one snapshot, exported to the others).
 */
describe('Exact search (real PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let repository: SearchRepository;
  let config: AppConfig;
  /** Per chunk: its id, stored vector (float32 values), task and metadata. */
  const chunks: { id: number; vector: number[]; task: number; metadata: Record<string, unknown> }[] = [];
  let tasks: number[];

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(dataSourceOptions({ url: db.url })).initialize();
    repository = new SearchRepository(dataSource);
    config = loadConfig({ DATABASE_URL: db.url });
    await seed();
  });
  afterAll(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  /**
   * 1,200 chunks in three tasks, their vectors stored through the receiver's repository: some exact duplicates (equal
   * scores, whatever the query), a zero vector, and vectors of another model that must never show up.
   */
  async function seed(): Promise<void> {
    const next = random(42);
    tasks = [];
    for (const name of ['a', 'b', 'c']) {
      const [{ id }] = await dataSource.query(`INSERT INTO mgmt.task (name, model) VALUES ($1, 'm') RETURNING id`, [
        name,
      ]);
      tasks.push(Number(id));
    }
    const texts = Array.from({ length: 1200 }, (_, i) => `chunk ${i}`);
    const metadata = texts.map((_, i) => ({
      colour: ['red', 'green', 'blue'][i % 3],
      size: i % 5,
      tags: [i % 2 ? 'odd' : 'even'],
    }));
    const rows: { id: number; content_hash: string }[] = await dataSource.query(
      `INSERT INTO mgmt.embed_chunk (text, metadata) SELECT * FROM unnest($1::text[], $2::jsonb[]) RETURNING id, content_hash`,
      [texts, metadata.map((entry) => JSON.stringify(entry))],
    );
    const vectors = rows.map((_, i) => {
      if (i === 7) return new Array(DIMENSIONS).fill(0);
      if (i % 100 === 50) return null; // a duplicate of the previous chunk's vector, below
      return Array.from({ length: DIMENSIONS }, () => Math.fround(next() - 0.5));
    });
    vectors.forEach((vector, i) => (vectors[i] = vector ?? vectors[i - 1]));
    await dataSource.query(
      `INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) SELECT unnest($1::bigint[]), unnest($2::bigint[])`,
      [rows.map((_, i) => tasks[i % 3]), rows.map((row) => row.id)],
    );
    const receiver = new ReceiverRepository(dataSource);
    for (const model of ['m', 'other']) {
      const stored = rows.map((row, i) => ({
        chunkId: Number(row.id),
        contentHash: row.content_hash,
        vector: Float32Array.from(model === 'm' ? (vectors[i] as number[]) : vectors[i]!.map((value) => -value)),
      }));
      expect((await receiver.upsertIfValid(model, DIMENSIONS, stored)).stored).toBe(true);
    }
    rows.forEach((row, i) =>
      chunks.push({ id: Number(row.id), vector: vectors[i] as number[], task: tasks[i % 3], metadata: metadata[i] }),
    );
  }

  /** Contains, as jsonb's @> does for these shapes: every key's value equal, arrays containing every item. */
  function contains(metadata: Record<string, unknown>, filter: Record<string, unknown>): boolean {
    return Object.entries(filter).every(([key, value]) =>
      Array.isArray(value)
        ? (value as unknown[]).every((item) => (metadata[key] as unknown[]).includes(item))
        : metadata[key] === value,
    );
  }

  function bruteForce(query: VectorQuery): { chunkId: number; score: number }[] {
    return chunks
      .filter((chunk) => query.taskId === undefined || chunk.task === query.taskId)
      .filter((chunk) => query.filter === undefined || contains(chunk.metadata, query.filter))
      .filter((chunk) => chunk.vector.some((value) => value !== 0))
      .map((chunk) => ({ chunkId: chunk.id, score: cosine(chunk.vector, query.vector) }))
      .sort((a, b) => b.score - a.score || a.chunkId - b.chunkId)
      .slice(0, query.k);
  }

  const search = (streams: number, cacheBytes = config.search.exactCacheBytes) =>
    new ExactVectorSearch(repository, new SearchBackend(streams), {
      ...config,
      search: { ...config.search, exactCacheBytes: cacheBytes },
    });

  /** Searches that read every vector, keep none, or keep a model's only while it fits in 20 KB (it does not). */
  const cacheSizes: [string, number | undefined][] = [
    ['kept in memory', undefined],
    ['not kept (SEARCH_EXACT_CACHE_SIZE 0)', 0],
    ['too many to keep', 20_000],
  ];

  it.each([1, 2, 3].flatMap((streams) => cacheSizes.map(([name, bytes]) => [streams, name, bytes] as const)))(
    'equals the brute-force top k, read in %i stream(s), vectors %s',
    async (streams, _name, cacheBytes) => {
      const next = random(streams);
      const exact = search(streams, cacheBytes);
      const queries: Omit<VectorQuery, 'vector'>[] = [
        { model: 'm', dimensions: DIMENSIONS, k: 10 },
        { model: 'm', dimensions: DIMENSIONS, k: 1 },
        { model: 'm', dimensions: DIMENSIONS, k: 1000 },
        { model: 'm', dimensions: DIMENSIONS, k: 25, taskId: tasks[1] },
        { model: 'm', dimensions: DIMENSIONS, k: 25, filter: { colour: 'red' } },
        { model: 'm', dimensions: DIMENSIONS, k: 25, filter: { colour: 'blue', tags: ['odd'] } },
        { model: 'm', dimensions: DIMENSIONS, k: 500, taskId: tasks[2], filter: { size: 3 } },
        { model: 'm', dimensions: DIMENSIONS, k: 10, taskId: tasks[0], filter: { colour: 'nothing' } },
      ];
      for (const shape of queries) {
        const query = { ...shape, vector: Array.from({ length: DIMENSIONS }, () => next() * 2 - 1) };
        const answer = await exact.search(query);
        expect(answer.exact).toBe(true);
        expect(answer.hits).toEqual(bruteForce(query));
      }
    },
  );

  it('ranks an exact duplicate right after the original (equal scores, chunk id order), and never a zero vector', async () => {
    const original = chunks[49];
    const answer = await search(2).search({ model: 'm', dimensions: DIMENSIONS, k: 3, vector: original.vector });
    expect(answer.hits.slice(0, 2)).toEqual([
      { chunkId: chunks[49].id, score: answer.hits[0].score },
      { chunkId: chunks[50].id, score: answer.hits[0].score },
    ]);
    expect(answer.hits[0].score).toBeCloseTo(1, 12);
    const all = await search(2).search({ model: 'm', dimensions: DIMENSIONS, k: 1000, vector: original.vector });
    expect(all.hits.map((hit) => hit.chunkId)).not.toContain(chunks[7].id);
  });

  it("stops at SEARCH_TIMEOUT_MS with PostgreSQL's query_canceled", async () => {
    const slow = new ExactVectorSearch(repository, new SearchBackend(1), {
      ...config,
      search: { ...config.search, timeoutMs: 1 },
    });
    await expect(
      slow.search({ model: 'm', dimensions: DIMENSIONS, k: 10, vector: chunks[0].vector, filter: { colour: 'red' } }),
    ).rejects.toMatchObject({ code: '57014' });
    // The connections went back to the pool in a usable state.
    expect(await repository.storedDimensions('m')).toBe(DIMENSIONS);
  });

  it('a search of the whole model after a narrow one reads the other vectors in batches, and equals brute force', async () => {
    const exact = search(2);
    const narrow = {
      model: 'm',
      dimensions: DIMENSIONS,
      k: 5,
      vector: chunks[3].vector,
      filter: { size: 3, colour: 'red' },
    };
    expect((await exact.search(narrow)).hits).toEqual(bruteForce(narrow));
    // About 80 vectors are kept; the whole model's 1,120 others come by id, more than one COPY's 1,000. k covers all.
    const whole = { model: 'm', dimensions: DIMENSIONS, k: 2000, vector: chunks[3].vector };
    expect((await exact.search(whole)).hits).toEqual(bruteForce(whole));
    expect((await exact.search(whole)).hits).toEqual(bruteForce(whole));
  });

  it('a search with the vectors in memory still sees what changed since: updated, deleted, added and emptied rows', async () => {
    const exact = search(2);
    const next = random(7);
    const query = () => ({ model: 'm', dimensions: DIMENSIONS, k: 1000, vector: chunks[300].vector });
    expect((await exact.search(query())).hits).toEqual(bruteForce(query()));
    const scoped = { ...query(), taskId: tasks[1], k: 50 };
    expect((await exact.search(scoped)).hits).toEqual(bruteForce(scoped));

    // Changed by SQL, as any writer may: one vector updated, one row deleted, one added, one emptied.
    const [updated, deleted, emptied] = [chunks[10], chunks[11], chunks[12]];
    updated.vector = Array.from({ length: DIMENSIONS }, () => Math.fround(next() - 0.5));
    await dataSource.query(`UPDATE mgmt.embedding SET embedding = $2 WHERE chunk_id = $1 AND model = 'm'`, [
      updated.id,
      updated.vector,
    ]);
    await dataSource.query(`DELETE FROM mgmt.embedding WHERE chunk_id = $1 AND model = 'm'`, [deleted.id]);
    chunks.splice(chunks.indexOf(deleted), 1);
    await dataSource.query(`UPDATE mgmt.embedding SET embedding = '{}' WHERE chunk_id = $1 AND model = 'm'`, [
      emptied.id,
    ]);
    emptied.vector = new Array(DIMENSIONS).fill(0);
    const [{ id, content_hash }] = await dataSource.query(
      `INSERT INTO mgmt.embed_chunk (text, metadata) VALUES ('added', '{}') RETURNING id, content_hash`,
    );
    const added = { id: Number(id), vector: chunks[300].vector.map((value) => -value), task: -1, metadata: {} };
    await dataSource.query(
      `INSERT INTO mgmt.embedding (chunk_id, model, dimensions, embedding, content_hash) VALUES ($1, 'm', $2, $3, $4)`,
      [added.id, DIMENSIONS, added.vector, content_hash],
    );
    chunks.push(added);

    for (const changed of [query(), { ...query(), vector: updated.vector, k: 5 }, scoped]) {
      expect((await exact.search(changed)).hits).toEqual(bruteForce(changed));
    }
    const far = (await exact.search({ ...query(), k: 2000 })).hits.map((hit) => hit.chunkId);
    expect(far).toContain(added.id);
    expect(far).not.toContain(deleted.id);
    expect(far).not.toContain(emptied.id);
  });
});
