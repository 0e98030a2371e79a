import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { escapeIdentifier, escapeLiteral, PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { DataSource, QueryRunner } from 'typeorm';
import { CopyVectorReader, VectorView } from './copy-vectors';
import { ScoredChunk } from './top-k';

/** Which stored vectors a search compares: one model's, optionally one task's chunks, optionally by metadata. */
export interface VectorScope {
  model: string;
  taskId?: number;
  filter?: Record<string, unknown>;
}

/** The installed pgvector extension: its version, and the schema holding its types and operators. */
export interface PgvectorExtension {
  schema: string;
  version: string;
}

/** pgvector's types: `vector` is indexable by HNSW up to 2,000 dimensions, `halfvec` (2-byte floats) up to 4,000. */
export type IndexedType = 'vector' | 'halfvec';

export interface IndexedSearch extends VectorScope {
  extension: PgvectorExtension;
  type: IndexedType;
  dimensions: number;
  vector: number[];
  k: number;
  efSearch: number;
  timeoutMs: number;
}

export interface StoredModel {
  model: string;
  dimensions: number;
}

export interface VectorIndexRow {
  name: string;
  valid: boolean;
}

export interface ChunkRow {
  id: number;
  text?: string;
  metadata?: Record<string, unknown>;
}

/** The name of a model's HNSW index: a hash, since a model id can be longer than a name (63 bytes) and hold anything. */
export function vectorIndexName(model: string): string {
  return `embedding_hnsw_${createHash('sha256').update(model).digest('hex').slice(0, 16)}`;
}

/** A stored vector's chunk id and row version (vector-cache.ts), as CopyVectorReader reads them. */
const VERSIONED = 'e.chunk_id, e.xmin::text::int8, e.ctid';

/**
 * Chunk ids inlined in one COPY of changed vectors (COPY takes no parameters). Few enough that the planner reads
 * them through the primary key: on a 2M-row mgmt.embedding, 10,000 ids got a parallel seq scan of the whole table
 * (173 ms, and it grows with every model's history), 1,000 an index scan (6 ms), with fresh statistics or none.
 */
const CHANGED_IDS_PER_COPY = 1_000;

/** One advisory lock for index builds, so one instance at a time builds (and a second one does not wait). */
const INDEX_BUILD_LOCK = `hashtext('embedding-tasks: search index build')`;

/**
 * The stored vectors of the scope, as SQL. Literals are inlined (escaped) because COPY takes no parameters. The task
 * and metadata conditions are semi-joins, so the planner can start from the task's links (a small task of a big model)
 * or from the model's vectors (a big task), and checks the metadata of a chunk only when its vector is in scope.
 */
function scopeConditions({ model, taskId, filter }: VectorScope): string {
  const conditions = [`e.model = ${escapeLiteral(model)}`];
  if (taskId !== undefined) {
    conditions.push(
      `EXISTS (SELECT 1 FROM mgmt.embed_task_chunk l WHERE l.task_id = ${Number(taskId)} AND l.chunk_id = e.chunk_id)`,
    );
  }
  if (filter !== undefined) {
    conditions.push(
      `EXISTS (SELECT 1 FROM mgmt.embed_chunk c WHERE c.id = e.chunk_id AND c.metadata @> ${escapeLiteral(JSON.stringify(filter))}::jsonb)`,
    );
  }
  return conditions.join(' AND ');
}

/** All SQL of the search feature: the exact scan, pgvector's indexed search and its indexes. */
@Injectable()
export class SearchRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The dimension count of the model's stored vectors (all have the same), or undefined when it has none. */
  async storedDimensions(model: string): Promise<number | undefined> {
    const rows: { dimensions: number }[] = await this.dataSource.query(
      `SELECT dimensions FROM mgmt.embedding WHERE model = $1 LIMIT 1`,
      [model],
    );
    return rows[0]?.dimensions;
  }

  async taskExists(taskId: number): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(`SELECT 1 FROM mgmt.task WHERE id = $1`, [taskId]);
    return rows.length > 0;
  }

  /** The chunks' text and metadata, as asked; a chunk deleted meanwhile is missing. */
  async chunks(ids: number[], shape: { text: boolean; metadata: boolean }): Promise<Map<number, ChunkRow>> {
    if (ids.length === 0) return new Map();
    const columns = ['id', ...(shape.text ? ['text'] : []), ...(shape.metadata ? ['metadata'] : [])];
    const rows: ChunkRow[] = await this.dataSource.query(
      `SELECT ${columns.join(', ')} FROM mgmt.embed_chunk WHERE id = ANY($1::bigint[])`,
      [ids],
    );
    return new Map(rows.map((row) => [Number(row.id), row]));
  }

  /**
   * Every stored vector of the scope with its row version, visited as it streams in, in `streams` parts read side by
   * side (chunk id modulo `streams`), each through `COPY … TO STDOUT (FORMAT binary)` on a connection of its own:
   * PostgreSQL's binary array format costs the server far less than float text, and COPY hands Node the bytes as they
   * are. All parts read one snapshot (the first transaction exports it, the others import it), so the scan is a
   * consistent picture of the store. Memory stays bounded: a stream pauses while its pieces are visited.
   */
  async scanVectors(
    scope: VectorScope,
    streams: number,
    timeoutMs: number,
    visit: (row: VectorView) => void,
  ): Promise<void> {
    const part = (index: number) => (streams === 1 ? '' : ` AND e.chunk_id % ${streams} = ${index}`);
    const select = (index: number) =>
      `SELECT ${VERSIONED}, e.embedding FROM mgmt.embedding e WHERE ${scopeConditions(scope)}${part(index)}`;
    await this.inSnapshot(streams, timeoutMs, (clients) =>
      Promise.all(clients.map((client, index) => copyVectors(client, select(index), visit))),
    );
  }

  /**
   * The row version of every stored vector of the scope (a few bytes a row), then the vectors of the rows `stale`
   * picks among them, in one snapshot: what a search with most vectors already in memory reads.
   */
  async scanChangedVectors(
    scope: VectorScope,
    timeoutMs: number,
    stale: (row: VectorView) => boolean,
    visit: (row: VectorView) => void,
  ): Promise<void> {
    await this.inSnapshot(1, timeoutMs, async ([client]) => {
      const ids: number[] = [];
      await copyVectors(client, `SELECT ${VERSIONED} FROM mgmt.embedding e WHERE ${scopeConditions(scope)}`, (row) => {
        if (stale(row)) ids.push(row.chunkId);
      });
      for (let from = 0; from < ids.length; from += CHANGED_IDS_PER_COPY) {
        const list = ids.slice(from, from + CHANGED_IDS_PER_COPY).join(',');
        const where = `e.model = ${escapeLiteral(scope.model)} AND e.chunk_id = ANY('{${list}}'::int8[])`;
        await copyVectors(client, `SELECT ${VERSIONED}, e.embedding FROM mgmt.embedding e WHERE ${where}`, visit);
      }
    });
  }

  /** Runs `work` on `count` pooled connections reading one snapshot, each statement within `timeoutMs`. */
  private async inSnapshot<T>(
    count: number,
    timeoutMs: number,
    work: (clients: PoolClient[]) => Promise<T>,
  ): Promise<T> {
    const runners = Array.from({ length: count }, () => this.dataSource.createQueryRunner());
    const clients: PoolClient[] = [];
    try {
      for (const runner of runners) clients.push((await runner.connect()) as PoolClient);
      await shareSnapshot(clients);
      for (const client of clients) {
        await client.query(`SELECT set_config('statement_timeout', $1, true)`, [String(timeoutMs)]);
      }
      return await work(clients);
    } finally {
      // Read only: ending with ROLLBACK is the same as COMMIT, and also ends a transaction a failure left open.
      await Promise.all(clients.map((client) => client.query('ROLLBACK').catch(() => undefined)));
      await Promise.all(runners.map((runner) => runner.release()));
    }
  }

  /**
   * The k nearest of the scope by pgvector's cosine distance through the model's HNSW index, with iterative scans
   * (pgvector 0.8): when conditions drop candidates, the scan goes on through the graph until k pass, up to
   * hnsw.max_scan_tuples. relaxed_order lets a few come out of order; the outer ORDER BY puts them back, ties by chunk
   * id. The cast and the model literal are exactly the index's expression and predicate, so the planner can use it.
   */
  async indexedTopK(search: IndexedSearch): Promise<ScoredChunk[]> {
    const ext = escapeIdentifier(search.extension.schema);
    const type = `${ext}.${search.type}(${Number(search.dimensions)})`;
    return this.dataSource.transaction(async (manager) => {
      // enable_sort off: with statistics older than the model's vectors (a model that landed after the last ANALYZE)
      // the planner estimates a handful of rows and would sort every one of them instead of walking the index.
      await manager.query(
        `SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true),
                set_config('statement_timeout', $2, true), set_config('enable_sort', 'off', true)`,
        [String(Math.max(search.efSearch, search.k)), String(search.timeoutMs)],
      );
      const rows: { chunk_id: number; distance: number }[] = await manager.query(
        `WITH nearest AS MATERIALIZED (
           SELECT e.chunk_id, e.embedding::${type} OPERATOR(${ext}.<=>) $1::${type} AS distance
           FROM mgmt.embedding e
           WHERE ${scopeConditions(search)}
           ORDER BY distance
           LIMIT $2
         )
         SELECT chunk_id, distance FROM nearest ORDER BY distance, chunk_id`,
        [`[${search.vector.join(',')}]`, search.k],
      );
      return rows.map((row) => ({ chunkId: Number(row.chunk_id), score: 1 - row.distance }));
    });
  }

  async serverVersion(): Promise<string> {
    const [{ version }]: { version: string }[] = await this.dataSource.query(`SELECT version()`);
    return version;
  }

  /** The installed pgvector, if any. */
  async installedPgvector(): Promise<PgvectorExtension | undefined> {
    const rows: PgvectorExtension[] = await this.dataSource.query(
      `SELECT x.extversion AS version, n.nspname AS schema
       FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace WHERE x.extname = 'vector'`,
    );
    return rows[0];
  }

  /** Whether the server has pgvector's files, so that CREATE EXTENSION vector can work. */
  async pgvectorAvailable(): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`);
    return rows.length > 0;
  }

  async createPgvector(): Promise<void> {
    await this.dataSource.query(`CREATE EXTENSION IF NOT EXISTS vector`);
  }

  /**
   * The models that have stored vectors, with their dimensions: a loose index scan of embedding_model_hash_idx (one
   * probe per model), so it costs the same with 100 or 100 million vectors.
   */
  async storedModels(): Promise<StoredModel[]> {
    return this.dataSource.query(
      `WITH RECURSIVE models AS (
         (SELECT model, dimensions FROM mgmt.embedding ORDER BY model LIMIT 1)
         UNION ALL
         SELECT next.model, next.dimensions FROM models m
         CROSS JOIN LATERAL (SELECT model, dimensions FROM mgmt.embedding WHERE model > m.model ORDER BY model LIMIT 1) next
       )
       SELECT model, dimensions FROM models`,
    );
  }

  /** The HNSW indexes on mgmt.embedding (by name), valid or not (being built, or left by a failed build). */
  async vectorIndexes(): Promise<Map<string, VectorIndexRow>> {
    const rows: VectorIndexRow[] = await this.dataSource.query(
      `SELECT c.relname AS name, i.indisvalid AS valid
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE i.indrelid = 'mgmt.embedding'::regclass AND c.relname LIKE 'embedding_hnsw_%'`,
    );
    return new Map(rows.map((row) => [row.name, row]));
  }

  /**
   * Runs `build` holding the index-build lock on a connection of its own, or returns false at once when another
   * session holds it. The lock is a session lock: CREATE INDEX CONCURRENTLY cannot run inside a transaction.
   */
  async withBuildLock(build: (runner: QueryRunner, pid: number) => Promise<void>): Promise<boolean> {
    const runner = this.dataSource.createQueryRunner();
    try {
      const [{ locked, pid }] = (await runner.query(
        `SELECT pg_try_advisory_lock(${INDEX_BUILD_LOCK}) AS locked, pg_backend_pid() AS pid`,
      )) as { locked: boolean; pid: number }[];
      if (!locked) return false;
      try {
        await build(runner, pid);
      } finally {
        await runner.query(`SELECT pg_advisory_unlock(${INDEX_BUILD_LOCK})`);
      }
      return true;
    } finally {
      await runner.release();
    }
  }

  /** Cancels the statement that backend runs (an index build, at shutdown): the build's next run starts over. */
  async cancelBackend(pid: number): Promise<void> {
    await this.dataSource.query(`SELECT pg_cancel_backend($1)`, [pid]);
  }

  /**
   * Builds the model's HNSW index over its stored vectors, online: an expression index on the cast of the real[]
   * column (no second copy of the vectors), partial on the model, with pgvector's default parameters (m 16,
   * ef_construction 64). An index left invalid by an interrupted build is dropped first.
   */
  async buildIndex(
    runner: QueryRunner,
    model: StoredModel,
    type: IndexedType,
    extension: PgvectorExtension,
  ): Promise<void> {
    const name = escapeIdentifier(vectorIndexName(model.model));
    const ext = escapeIdentifier(extension.schema);
    await runner.query(`DROP INDEX CONCURRENTLY IF EXISTS mgmt.${name}`);
    await runner.query(
      `CREATE INDEX CONCURRENTLY ${name} ON mgmt.embedding
       USING hnsw ((embedding::${ext}.${type}(${Number(model.dimensions)})) ${ext}.${type}_cosine_ops)
       WHERE model = ${escapeLiteral(model.model)}`,
    );
  }
}

/** One snapshot for every connection: the first transaction exports it, the others import it. */
async function shareSnapshot([first, ...others]: PoolClient[]): Promise<void> {
  await first.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`);
  if (others.length === 0) return;
  const { rows } = await first.query<{ snapshot: string }>(`SELECT pg_export_snapshot() AS snapshot`);
  for (const client of others) {
    await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`);
    await client.query(`SET TRANSACTION SNAPSHOT ${escapeLiteral(rows[0].snapshot)}`);
  }
}

/** Streams one COPY into the reader; a COPY that ends without its trailer is an error, not a shorter answer. */
async function copyVectors(client: PoolClient, select: string, visit: (row: VectorView) => void): Promise<void> {
  const reader = new CopyVectorReader(visit);
  const stream = client.query(copyTo(`COPY (${select}) TO STDOUT (FORMAT binary)`));
  for await (const piece of stream) reader.push(piece as Buffer);
  if (!reader.complete) throw new Error('the vector scan ended early');
}
