import { loadavg } from 'node:os';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { startPglite } from '../../test/pglite';
import { loadConfig } from '../../src/config/config.loader';
import { dataSourceOptions } from '../../src/database/data-source.options';
import { EXACT_SCAN_STREAMS, SearchBackend } from '../../src/search/search-backend';
import { SearchRepository } from '../../src/search/search.repository';
import { ExactVectorSearch, VectorQuery } from '../../src/search/vector-search';
import { startThrowawayPostgres } from '../lib/bench-app';
import { BenchOptions, BenchPart } from '../lib/part';
import { saveResults } from '../lib/results';
import { quantile } from '../lib/stats';
import { formatNumber, renderTable } from '../lib/table';

const DIMENSIONS = 384;
const MODEL = 'bench';

export const searchPart: BenchPart = {
  name: 'search',
  description:
    'POST /search paths: exact (kept in memory; streamed in 1/2/4 streams; SQL) at 10k and 100k vectors, pgvector HNSW on PGlite',
  run: runSearchBench,
};

interface Row {
  contender: string;
  vectors: number;
  queries: number;
  qps: number;
  p50: number;
  p95: number;
  recall?: number;
}

/**
 * Times the search paths themselves (the classes behind POST /search, no HTTP, no query embedding), one query after
 * another, interleaved between contenders so that the machine's noise hits all of them alike. Vectors: 384 values
 * around 100 centres (as embeddings of related texts cluster), generated in SQL.
 */
async function runSearchBench(options: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const log = (line: string) => console.log(line);
  const sizes = (process.env.BENCH_SEARCH_SIZES || '10000,100000').split(',').map(Number);
  const pgvectorSize = Number(process.env.BENCH_SEARCH_PGVECTOR || 100_000);
  const requests = options.requests ?? 30;
  log(`\n== search: exact at ${sizes.join(', ')} vectors, pgvector at ${pgvectorSize}; ${requests} queries each ==`);
  const rows: Row[] = [];
  const server = options.databaseUrl
    ? { url: options.databaseUrl, stop: async () => undefined }
    : await startThrowawayPostgres(log);
  try {
    for (const size of sizes) rows.push(...printed(await exactAt(server.url, size, requests, log), log));
  } finally {
    await server.stop();
  }
  if (pgvectorSize > 0) rows.push(...printed(await pgvectorAt(pgvectorSize, requests * 4, log), log));
  log(table(rows));
  const load = loadAverage();
  log(`load average: ${load}`);
  const path = await saveResults('search', { startedAt, load, rows }, startedAt);
  log(`results: ${path}`);
}

const loadAverage = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

/** Each section's rows as soon as they are measured (a long run shows what it has), with the load average then. */
function printed(rows: Row[], log: (line: string) => void): Row[] {
  log(table(rows));
  log(`  load average: ${loadAverage()}`);
  return rows;
}

function table(rows: Row[]): string {
  return renderTable(
    ['contender', 'vectors', 'queries', 'qps', 'p50 ms', 'p95 ms', 'recall@10'],
    rows.map((row) => [
      row.contender,
      String(row.vectors),
      String(row.queries),
      formatNumber(row.qps),
      formatNumber(row.p50),
      formatNumber(row.p95),
      row.recall === undefined ? '' : formatNumber(row.recall, 3),
    ]),
  );
}

/** A database of `size` stored vectors of one model, on the server at `url`. */
async function seedDatabase(url: string, name: string, size: number, log: (line: string) => void): Promise<string> {
  const admin = new Client({ connectionString: withDatabase(url, 'postgres') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const target = withDatabase(url, name);
  const dataSource = await new DataSource(dataSourceOptions({ url: target })).initialize();
  await dataSource.runMigrations();
  await seedVectors(dataSource, size, log);
  await dataSource.destroy();
  return target;
}

async function seedVectors(dataSource: DataSource, size: number, log: (line: string) => void): Promise<void> {
  const started = performance.now();
  await dataSource.query(`SELECT setseed(0.42)`);
  await dataSource.query(
    `CREATE TEMP TABLE centre AS SELECT g AS id, array(SELECT random() - 0.5 FROM generate_series(1, ${DIMENSIONS}) WHERE g >= 0) AS v
     FROM generate_series(0, 99) g`,
  );
  for (let from = 0; from < size; from += 10_000) {
    const count = Math.min(10_000, size - from);
    await dataSource.query(
      `WITH c AS (INSERT INTO mgmt.embed_chunk (text, metadata)
                  SELECT 'bench chunk ' || g, jsonb_build_object('group', g % 10) FROM generate_series($1::int, $2::int) g
                  RETURNING id, content_hash)
       INSERT INTO mgmt.embedding (chunk_id, model, dimensions, embedding, content_hash)
       SELECT c.id, $3, ${DIMENSIONS}, (SELECT array_agg((x + (random() - 0.5) * 0.5)::real) FROM unnest(centre.v) x),
              c.content_hash
       FROM c JOIN centre ON centre.id = c.id % 100`,
      [from + 1, from + count, MODEL],
    );
  }
  await dataSource.query('ANALYZE');
  log(`  ${size} vectors of ${DIMENSIONS} dimensions in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Query vectors: stored vectors moved a little, so each has near neighbours as a real query does. */
async function queryVectors(dataSource: DataSource, count: number): Promise<number[][]> {
  const rows: { v: number[] }[] = await dataSource.query(
    `SELECT (SELECT array_agg((x + (random() - 0.5) * 0.2)::float8) FROM unnest(embedding) x) AS v
     FROM mgmt.embedding ORDER BY chunk_id % 997, chunk_id LIMIT $1`,
    [count],
  );
  return rows.map((row) => row.v);
}

/** The exact path in 1, 2 and 4 streams, and the same top k computed in SQL (unnest per vector), side by side. */
async function exactAt(serverUrl: string, size: number, requests: number, log: (line: string) => void): Promise<Row[]> {
  log(`exact at ${size} vectors`);
  const url = await seedDatabase(serverUrl, `bench_search_${size}_${process.pid}`, size, log);
  const dataSource = await new DataSource(dataSourceOptions({ url, poolSize: 10 })).initialize();
  try {
    const repository = new SearchRepository(dataSource);
    const config = loadConfig({ DATABASE_URL: url, SEARCH_TIMEOUT_MS: '600000' });
    const streamed = loadConfig({ DATABASE_URL: url, SEARCH_TIMEOUT_MS: '600000', SEARCH_EXACT_CACHE_SIZE: '0' });
    const queries = await queryVectors(dataSource, requests);
    const query = (vector: number[]): VectorQuery => ({ model: MODEL, dimensions: DIMENSIONS, k: 10, vector });
    const contenders: Record<string, (vector: number[]) => Promise<unknown>> = {};
    for (const streams of [1, 2, 4]) {
      const search = new ExactVectorSearch(repository, new SearchBackend(streams), streamed);
      contenders[`exact, streamed, ${streams} stream${streams > 1 ? 's' : ''}`] = (vector) =>
        search.search(query(vector));
    }
    // The service's default: the vectors kept in memory (SEARCH_EXACT_CACHE_SIZE), each query reading the rows'
    // versions. The first query reads them all (2 streams, as the service does), timed apart.
    const kept = new ExactVectorSearch(repository, new SearchBackend(EXACT_SCAN_STREAMS), config);
    const first = performance.now();
    await kept.search(query(queries[0]));
    log(`  exact, kept in memory: first query (reads every vector) ${(performance.now() - first).toFixed(1)} ms`);
    contenders['exact, kept in memory (default), store unchanged'] = (vector) => kept.search(query(vector));
    // The SQL contender is slow: at 100k it runs a third of the queries.
    const sqlEvery = size > 20_000 ? 3 : 1;
    contenders['exact, in SQL (unnest)'] = (vector) => sqlTopK(dataSource, vector);
    const times = await interleave(
      contenders,
      queries,
      (name, index) => !name.includes('SQL') || index % sqlEvery === 0,
    );
    return Object.entries(times).map(([contender, samples]) => summarise(contender, size, samples));
  } finally {
    await dataSource.destroy();
  }
}

/** The top k computed by PostgreSQL alone: a dot product and norm per vector over unnest, the only way without an extension. */
async function sqlTopK(dataSource: DataSource, vector: number[]): Promise<unknown> {
  return dataSource.query(
    `SELECT e.chunk_id, s.dot / sqrt(s.norm * $3) AS score
     FROM mgmt.embedding e,
          LATERAL (SELECT sum(a * b) AS dot, sum(a * a) AS norm FROM unnest(e.embedding::float8[], $2::float8[]) u(a, b)) s
     WHERE e.model = $1 AND s.norm > 0
     ORDER BY score DESC, e.chunk_id LIMIT 10`,
    [MODEL, vector, vector.reduce((total, value) => total + value * value, 0)],
  );
}

/**
 * pgvector on PGlite (PostgreSQL compiled to WebAssembly, single backend): the project's migrations, the vectors, the
 * index built the way the service builds it (SearchRepository.buildIndex), then indexed searches at the default
 * hnsw.ef_search and higher ones, each with recall@10 against the exact path on the same data.
 */
async function pgvectorAt(size: number, requests: number, log: (line: string) => void): Promise<Row[]> {
  log(`pgvector at ${size} vectors, on PGlite (WebAssembly)`);
  const pglite = await startPglite(4);
  const dataSource = await new DataSource(dataSourceOptions({ url: pglite.url, poolSize: 2 })).initialize();
  try {
    await dataSource.runMigrations();
    await dataSource.query(`CREATE EXTENSION IF NOT EXISTS vector`);
    await seedVectors(dataSource, size, log);
    const repository = new SearchRepository(dataSource);
    const extension = (await repository.installedPgvector())!;
    // PGlite's default maintenance_work_mem (64MB) holds about a third of this graph: the build would go on disk, many
    // times slower. A server's operator sets it the same way for big builds (docs/search.md).
    await dataSource.query(`SET maintenance_work_mem = '512MB'`);
    const started = performance.now();
    await repository.withBuildLock((runner) =>
      repository.buildIndex(runner, { model: MODEL, dimensions: DIMENSIONS }, 'vector', extension),
    );
    log(`  HNSW index built in ${((performance.now() - started) / 1000).toFixed(1)} s (m 16, ef_construction 64)`);
    const config = loadConfig({ DATABASE_URL: pglite.url, SEARCH_TIMEOUT_MS: '600000', SEARCH_EXACT_CACHE_SIZE: '0' });
    const exact = new ExactVectorSearch(repository, new SearchBackend(1), config);
    const queries = await queryVectors(dataSource, requests);
    const truth = new Map<number[], number[]>();
    const exactTimes: number[] = [];
    for (const vector of queries.slice(0, Math.min(queries.length, 30))) {
      const begin = performance.now();
      const answer = await exact.search({ model: MODEL, dimensions: DIMENSIONS, k: 10, vector });
      exactTimes.push(performance.now() - begin);
      truth.set(
        vector,
        answer.hits.map((hit) => hit.chunkId),
      );
    }
    const rows = [summarise('exact on PGlite, streamed, 1 stream', size, exactTimes)];
    for (const efSearch of [40, 100, 200]) {
      const samples: number[] = [];
      let recall = 0;
      for (const vector of queries) {
        const begin = performance.now();
        const hits = await repository.indexedTopK({
          model: MODEL,
          dimensions: DIMENSIONS,
          vector,
          k: 10,
          extension,
          type: 'vector',
          efSearch,
          timeoutMs: 600_000,
        });
        samples.push(performance.now() - begin);
        const expected = truth.get(vector);
        if (expected) recall += hits.filter((hit) => expected.includes(hit.chunkId)).length / expected.length;
      }
      rows.push({
        ...summarise(`pgvector HNSW on PGlite, ef_search ${efSearch}`, size, samples),
        recall: recall / truth.size,
      });
    }
    return rows;
  } finally {
    await dataSource.destroy();
    await pglite.stop();
  }
}

/** Each query goes to every contender in turn (those `include` lets through), so none gets a quieter moment. */
async function interleave(
  contenders: Record<string, (vector: number[]) => Promise<unknown>>,
  queries: number[][],
  include: (name: string, index: number) => boolean,
): Promise<Record<string, number[]>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
  for (const run of Object.values(contenders)) await run(queries[0]); // warm-up: caches, plans
  for (const [index, vector] of queries.entries()) {
    for (const [name, run] of Object.entries(contenders)) {
      if (!include(name, index)) continue;
      const begin = performance.now();
      await run(vector);
      times[name].push(performance.now() - begin);
    }
  }
  return times;
}

function summarise(contender: string, vectors: number, samples: number[]): Row {
  const mean = samples.reduce((total, value) => total + value, 0) / samples.length;
  return {
    contender,
    vectors,
    queries: samples.length,
    qps: 1000 / mean,
    p50: quantile(samples, 0.5),
    p95: quantile(samples, 0.95),
  };
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
