import { Client } from 'pg';

export interface RelationSize {
  table: string;
  relation: string;
  /** Heap, TOAST or an index's name. */
  kind: 'heap' | 'toast' | 'index';
  bytes: number;
  rows: number;
  /** Bytes per row of its table, times 1M. */
  perMillionMiB: number;
}

/**
 * Every relation of the schema's three big tables after VACUUM (dead rows gone, as autovacuum leaves them), in bytes
 * per row of its table: what 1M links, chunks or vectors cost, to extrapolate to 100M.
 */
export async function relationSizes(client: Client): Promise<RelationSize[]> {
  await client.query('VACUUM ANALYZE mgmt.embed_task_chunk, mgmt.embed_chunk, mgmt.embedding, mgmt.task');
  const { rows } = await client.query(`
    WITH t AS (
      SELECT c.oid, c.relname, c.reltoastrelid, (SELECT count(*) FROM mgmt.embed_task_chunk) AS n
      FROM pg_class c WHERE c.oid = 'mgmt.embed_task_chunk'::regclass
      UNION ALL SELECT c.oid, c.relname, c.reltoastrelid, (SELECT count(*) FROM mgmt.embed_chunk)
      FROM pg_class c WHERE c.oid = 'mgmt.embed_chunk'::regclass
      UNION ALL SELECT c.oid, c.relname, c.reltoastrelid, (SELECT count(*) FROM mgmt.embedding)
      FROM pg_class c WHERE c.oid = 'mgmt.embedding'::regclass
    )
    SELECT t.relname AS table, t.relname AS relation, 'heap' AS kind, pg_relation_size(t.oid) AS bytes, t.n AS rows FROM t
    UNION ALL
    SELECT t.relname, 'toast', 'toast', pg_total_relation_size(t.reltoastrelid), t.n FROM t WHERE t.reltoastrelid <> 0
    UNION ALL
    SELECT t.relname, i.relname, 'index', pg_relation_size(i.oid), t.n
    FROM t JOIN pg_index x ON x.indrelid = t.oid JOIN pg_class i ON i.oid = x.indexrelid
    ORDER BY 1, 3, 4 DESC`);
  return rows.map((row) => ({
    table: row.table,
    relation: row.relation,
    kind: row.kind,
    bytes: Number(row.bytes),
    rows: Number(row.rows),
    perMillionMiB: Number(row.rows) === 0 ? 0 : ((Number(row.bytes) / Number(row.rows)) * 1e6) / 2 ** 20,
  }));
}

/** Bytes a stored vector costs in mgmt.embedding (heap, TOAST and indexes), by dimension: 10,000 of each. */
export async function vectorSizes(
  client: Client,
  dimensions: number[],
): Promise<{ dimensions: number; bytesPerVector: number }[]> {
  const sizes = [];
  const { rows } = await client.query(`SELECT id, content_hash FROM mgmt.embed_chunk ORDER BY id LIMIT 10000`);
  for (const dims of dimensions) {
    const before = await totalSize(client);
    await client.query(
      `INSERT INTO mgmt.embedding (chunk_id, model, dimensions, embedding, content_hash)
       SELECT u.id, $3, $4::int, (SELECT array_agg(((random() - 0.5) / 8)::real) FROM generate_series(1, $4::int + (u.id % 1)::int)),
              u.hash
       FROM unnest($1::bigint[], $2::text[]) AS u(id, hash)`,
      [rows.map((row) => row.id), rows.map((row) => row.content_hash), `size-${dims}`, dims],
    );
    sizes.push({ dimensions: dims, bytesPerVector: Math.round((await totalSize(client)) - before) / rows.length });
  }
  return sizes;
}

async function totalSize(client: Client): Promise<number> {
  const { rows } = await client.query(`SELECT pg_total_relation_size('mgmt.embedding') AS bytes`);
  return Number(rows[0].bytes);
}

export interface ContentHashIndexEffect {
  chunks: number;
  indexMiB: number;
  buildSeconds: number;
  /** Inserting `inserted` chunks (with their trigger-computed hash) with the index, then without. */
  inserted: number;
  withIndexSeconds: number;
  withoutIndexSeconds: number;
}

/**
 * What the dropped embed_chunk content-hash index cost: built again on the history's chunks, its size, then the same
 * insert of new chunks with it and without it.
 */
export async function contentHashIndexEffect(client: Client, inserted: number): Promise<ContentHashIndexEffect> {
  const insert = async (tag: string) => {
    const started = performance.now();
    await client.query(
      `INSERT INTO mgmt.embed_chunk (text) SELECT $1 || ' chunk ' || g || ' ' || repeat('word ', g % 50) FROM generate_series(1, $2::int) g`,
      [tag, inserted],
    );
    return (performance.now() - started) / 1000;
  };
  const { rows } = await client.query(`SELECT count(*)::int AS n FROM mgmt.embed_chunk`);
  const started = performance.now();
  await client.query(`CREATE INDEX bench_content_hash_idx ON mgmt.embed_chunk (content_hash)`);
  const buildSeconds = (performance.now() - started) / 1000;
  const size = await client.query(`SELECT pg_relation_size('mgmt.bench_content_hash_idx') AS bytes`);
  const withIndexSeconds = await insert('with index');
  await client.query(`DROP INDEX mgmt.bench_content_hash_idx`);
  const withoutIndexSeconds = await insert('without index');
  return {
    chunks: rows[0].n,
    indexMiB: Number(size.rows[0].bytes) / 2 ** 20,
    buildSeconds,
    inserted,
    withIndexSeconds,
    withoutIndexSeconds,
  };
}

/** The claim path's own indexes: what a claim reads from, however many links are done. */
export async function claimPathSizes(client: Client): Promise<{ index: string; bytes: number }[]> {
  const { rows } = await client.query(
    `SELECT relname AS index, pg_relation_size(oid) AS bytes FROM pg_class
     WHERE relname IN ('embed_task_chunk_claim_idx', 'embed_task_chunk_lease_idx', 'task_open_idx') ORDER BY 1`,
  );
  return rows.map((row) => ({ index: row.index, bytes: Number(row.bytes) }));
}
