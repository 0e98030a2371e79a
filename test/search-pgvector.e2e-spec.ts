import { createHash } from 'node:crypto';
import { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createApp } from '../src/app.factory';
import { cosine } from '../src/common/cosine';
import { loadConfig } from '../src/config/config.loader';
import { startTestApp } from './app';
import { createTestDatabase } from './database';
import { startPglite, PgliteServer } from './pglite';
import { waitFor } from './wait';

/** A seeded generator, so a failure can be run again as it was. */
function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
}

/** Vectors around a few centres, as embeddings of related texts are, rather than uniform noise. */
function clustered(count: number, dimensions: number, seed: number): number[][] {
  const next = random(seed);
  const centres = Array.from({ length: 8 }, () => Array.from({ length: dimensions }, () => next() - 0.5));
  return Array.from({ length: count }, (_, i) =>
    centres[i % 8].map((value) => Math.fround(value + (next() - 0.5) * 0.6)),
  );
}

interface PgvectorApp {
  pglite: PgliteServer;
  app: NestExpressApplication;
  http: () => ReturnType<typeof request>;
  sql: DataSource;
  close(): Promise<void>;
}

/** The real app on PGlite with pgvector: its migrations run there at start-up as on any server. */
async function startOnPglite(env: Record<string, string>): Promise<PgvectorApp> {
  const pglite = await startPglite(10);
  const config = loadConfig({
    LOG_LEVEL: 'warn',
    SENDER_ENABLED: 'false',
    DATABASE_POOL_SIZE: '5',
    ...env,
    DATABASE_URL: pglite.url,
  });
  const app = await createApp(config);
  return {
    pglite,
    app,
    http: () => request(app.getHttpServer()),
    sql: app.get(DataSource),
    close: async () => {
      await app.close();
      await pglite.stop();
    },
  };
}

/** Creates a task of `count` chunks (metadata {group: i % 3}) and stores one vector per chunk through the receiver. */
async function seed(
  t: PgvectorApp,
  model: string,
  vectors: number[][],
): Promise<{ taskId: number; chunkIds: number[] }> {
  const chunks = vectors.map((_, i) => ({ text: `${model} chunk ${i}`, metadata: { group: i % 3 } }));
  const created = await t.http().post('/tasks').send({ name: model, model, chunks }).expect(201);
  const rows: { chunk_id: number }[] = await t.sql.query(
    `SELECT chunk_id FROM mgmt.embed_task_chunk WHERE task_id = $1 ORDER BY id`,
    [created.body.id],
  );
  const chunkIds = rows.map((row) => Number(row.chunk_id));
  for (let from = 0; from < vectors.length; from += 100) {
    const items = vectors.slice(from, from + 100).map((embedding, offset) => ({
      chunk_id: chunkIds[from + offset],
      content_hash: createHash('sha256')
        .update(chunks[from + offset].text)
        .digest('hex'),
      embedding,
    }));
    const res = await t.http().post('/receiver/embeddings').send({ model, dimensions: vectors[0].length, items });
    expect(res.body).toEqual({ stored: items.length });
  }
  return { taskId: created.body.id, chunkIds };
}

/** The brute-force top k, in float64, ties by chunk id. */
function bruteForce(vectors: number[][], chunkIds: number[], query: number[], k: number, keep = (_: number) => true) {
  return vectors
    .map((vector, i) => ({ chunkId: chunkIds[i], score: cosine(vector, query), i }))
    .filter(({ i }) => keep(i))
    .sort((a, b) => b.score - a.score || a.chunkId - b.chunkId)
    .slice(0, k)
    .map(({ chunkId }) => chunkId);
}

const recall = (found: number[], truth: number[]) => found.filter((id) => truth.includes(id)).length / truth.length;

describe('Search with pgvector, on PGlite (e2e)', () => {
  describe('SEARCH_MODE=pgvector, indexes built on request', () => {
    let t: PgvectorApp;
    const vectors = clustered(600, 48, 7);
    let seeded: { taskId: number; chunkIds: number[] };
    const ids = (body: { results: { chunkId: number }[] }) => body.results.map((result) => result.chunkId);

    beforeAll(async () => {
      t = await startOnPglite({ SEARCH_MODE: 'pgvector', SEARCH_INDEX_INTERVAL_MS: '0' });
      seeded = await seed(t, 'm', vectors);
    }, 120_000);
    afterAll(() => t?.close());

    it('runs the migrations and creates the extension; before the index is built, searches are exact', async () => {
      const [{ extversion }] = await t.sql.query(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`);
      expect(extversion).toMatch(/^0\.(8|9|\d\d)\./);
      const listed = await t.http().get('/search/indexes').expect(200);
      expect(listed.body).toEqual({
        pgvector: true,
        items: [{ model: 'm', dimensions: 48, index: null, state: 'none' }],
      });
      const query = vectors[5];
      const res = await t.http().post('/search').send({ model: 'm', vector: query, k: 10 }).expect(200);
      expect(res.body.exact).toBe(true);
      expect(ids(res.body)).toEqual(bruteForce(vectors, seeded.chunkIds, query, 10));
    });

    it('POST /search/indexes builds the HNSW expression index, after which searches use it (exact: false)', async () => {
      const build = await t.http().post('/search/indexes').send({ model: 'm' }).expect(202);
      expect(build.body).toMatchObject({
        model: 'm',
        state: 'building',
        index: expect.stringMatching(/^embedding_hnsw_/),
      });
      await waitFor(async () => {
        const listed = await t.http().get('/search/indexes');
        return listed.body.items[0].state === 'valid' ? true : undefined;
      }, 60_000);
      const [index] = await t.sql.query(
        `SELECT indexdef FROM pg_indexes WHERE schemaname = 'mgmt' AND indexname LIKE 'embedding_hnsw_%'`,
      );
      expect(index.indexdef).toMatch(
        /USING hnsw \(\(\(embedding\)::vector\(48\)\) vector_cosine_ops\) WHERE \(model = 'm'::text\)/,
      );
      // The statistics predate the vectors (no ANALYZE since): the search must walk the index all the same.
      const scans = async () => {
        await t.sql.query(`SELECT pg_stat_force_next_flush()`);
        const [row] = await t.sql.query(
          `SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname LIKE 'embedding_hnsw_%'`,
        );
        return Number(row.idx_scan);
      };
      const before = await scans();
      await t.http().post('/search').send({ model: 'm', vector: vectors[0], k: 10 }).expect(200);
      await t
        .http()
        .post('/search')
        .send({ model: 'm', vector: vectors[0], k: 10, filter: { group: 1 } })
        .expect(200);
      await waitFor(async () => ((await scans()) >= before + 2 ? true : undefined), 5_000);
    }, 90_000);

    it('answers with the index: recall@10 against the brute force, filters and tasks still give k results', async () => {
      let total = 0;
      for (const i of [3, 77, 151, 402, 599]) {
        const res = await t.http().post('/search').send({ model: 'm', vector: vectors[i], k: 10 }).expect(200);
        expect(res.body.exact).toBe(false);
        total += recall(ids(res.body), bruteForce(vectors, seeded.chunkIds, vectors[i], 10));
        const scores = res.body.results.map((result: { score: number }) => result.score);
        expect(scores).toEqual([...scores].sort((a, b) => b - a));
      }
      expect(total / 5).toBeGreaterThanOrEqual(0.9);
      // One chunk in three has group 1: the iterative scan goes on through the graph until 50 of them pass.
      const filtered = await t
        .http()
        .post('/search')
        .send({ model: 'm', vector: vectors[9], k: 50, filter: { group: 1 } });
      expect(filtered.body.results).toHaveLength(50);
      expect(
        filtered.body.results.every((result: { metadata: { group: number } }) => result.metadata.group === 1),
      ).toBe(true);
      const truth = bruteForce(vectors, seeded.chunkIds, vectors[9], 50, (i) => i % 3 === 1);
      expect(recall(ids(filtered.body), truth)).toBeGreaterThanOrEqual(0.9);
      const inTask = await t
        .http()
        .post('/search')
        .send({ model: 'm', vector: vectors[9], k: 5, taskId: seeded.taskId });
      expect(inTask.body.results).toHaveLength(5);
      const other = await t
        .http()
        .post('/tasks')
        .send({ name: 'other', model: 'm', chunkIds: seeded.chunkIds.slice(0, 4) });
      const few = await t.http().post('/search').send({ model: 'm', vector: vectors[9], k: 10, taskId: other.body.id });
      expect(ids(few.body).sort((a: number, b: number) => a - b)).toEqual(seeded.chunkIds.slice(0, 4));
    });

    it('indexes a model of more than 2,000 dimensions as halfvec', async () => {
      const wide = clustered(40, 2100, 11);
      const { chunkIds } = await seed(t, 'wide', wide);
      await t.http().post('/search/indexes').send({ model: 'wide' }).expect(202);
      await waitFor(async () => {
        const listed = await t.http().get('/search/indexes');
        const item = listed.body.items.find((entry: { model: string }) => entry.model === 'wide');
        return item.state === 'valid' ? true : undefined;
      }, 60_000);
      const [index] = await t.sql.query(`SELECT indexdef FROM pg_indexes WHERE indexdef LIKE '%''wide''%'`);
      expect(index.indexdef).toContain('halfvec(2100)) halfvec_cosine_ops');
      const res = await t.http().post('/search').send({ model: 'wide', vector: wide[2], k: 3 }).expect(200);
      expect(res.body.exact).toBe(false);
      expect(ids(res.body)[0]).toBe(chunkIds[2]);
    }, 90_000);
  });

  it("SEARCH_MODE=auto builds the index by itself once a model's vectors land", async () => {
    const t = await startOnPglite({ SEARCH_MODE: 'auto', SEARCH_INDEX_INTERVAL_MS: '200' });
    try {
      const vectors = clustered(100, 16, 3);
      const { chunkIds } = await seed(t, 'landed', vectors);
      await waitFor(async () => {
        const listed = await t.http().get('/search/indexes');
        return listed.body.items[0]?.state === 'valid' ? true : undefined;
      }, 60_000);
      const res = await t.http().post('/search').send({ model: 'landed', vector: vectors[0], k: 1 }).expect(200);
      expect(res.body).toMatchObject({ exact: false, results: [{ chunkId: chunkIds[0] }] });
    } finally {
      await t.close();
    }
  }, 120_000);

  it('SEARCH_MODE=exact on PGlite searches exactly, in one stream (one transaction at a time there)', async () => {
    const t = await startOnPglite({ SEARCH_MODE: 'exact' });
    try {
      const vectors = clustered(200, 16, 5);
      const { chunkIds } = await seed(t, 'x', vectors);
      const res = await t
        .http()
        .post('/search')
        .send({ model: 'x', vector: vectors[1], k: 20, filter: { group: 2 } });
      expect(res.body.exact).toBe(true);
      const found = res.body.results.map((result: { chunkId: number }) => result.chunkId);
      expect(found).toEqual(bruteForce(vectors, chunkIds, vectors[1], 20, (i) => i % 3 === 2));
      expect(await t.sql.query(`SELECT 1 FROM pg_extension WHERE extname = 'vector'`)).toEqual([]);
    } finally {
      await t.close();
    }
  }, 120_000);

  it('SEARCH_MODE=pgvector stops start-up with a clear message where the server has no pgvector', async () => {
    const probe = await startTestApp({ SENDER_ENABLED: 'false', SEARCH_MODE: 'exact' });
    const available = await probe.app
      .get(DataSource)
      .query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`);
    await probe.close();
    // The embedded server and the CI's PostgreSQL 15 have none; a server that has it would start (and is not this test).
    if (available.length > 0) return;
    const db = await createTestDatabase();
    try {
      const config = loadConfig({
        LOG_LEVEL: 'error',
        SENDER_ENABLED: 'false',
        SEARCH_MODE: 'pgvector',
        DATABASE_URL: db.url,
      });
      await expect(createApp(config)).rejects.toThrow(
        'SEARCH_MODE=pgvector, but the database server has no pgvector extension: install pgvector 0.8.0 or later',
      );
    } finally {
      await db.drop();
    }
  });
});
