import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source.options';
import { startThrowawayPostgres } from '../lib/bench-app';

/**
 * How big the history is; BENCH_SCALE_* set it. BENCH_SCALE_LINKS lists the history sides' sizes (default
 * "1000000,10000000": one database of each); the largest is the one the claim, API, export and size figures use.
 */
export interface HistoryShape {
  /** Done links in one finished task, on the largest side. */
  links: number;
  /** Every history side's links, smallest first. */
  sides: number[];
  /** Finished tasks of 5 done links each. */
  tasks: number;
  /** Stored vectors for the first links of the big task (the export reads them). */
  vectors: number;
  dimensions: number;
}

/** The model of the big finished task (its vectors have the dimensions above; no sender serves it). */
export const HISTORY_MODEL = 'history';

export function historyShape(env: NodeJS.ProcessEnv): HistoryShape {
  const sides = (env.BENCH_SCALE_LINKS || '1000000,10000000')
    .split(',')
    .map(Number)
    .sort((a, b) => a - b);
  if (sides.some((links) => !Number.isInteger(links) || links < 1)) {
    throw new Error(`BENCH_SCALE_LINKS: positive integers separated by commas, got ${env.BENCH_SCALE_LINKS}`);
  }
  const links = sides[sides.length - 1];
  return {
    links,
    sides,
    tasks: Number(env.BENCH_SCALE_TASKS || 20_000),
    vectors: Number(env.BENCH_SCALE_VECTORS || Math.min(links, 1_000_000)),
    // The tiny model's size: the pipeline stores its vectors beside the history's, as a one-model deployment does.
    // Larger history vectors leave room in each page that the free space map hands to the pipeline's small ones:
    // every few vectors a cold page read and a full-page WAL image (BENCH_SCALE_DIMENSIONS=384 shows it).
    dimensions: Number(env.BENCH_SCALE_DIMENSIONS || 32),
  };
}

export interface ScaleDatabases {
  server: string;
  /** Migrated, empty: the "before" side (10k done links are added for the API comparison). */
  small: string;
  /** Migrated, with the largest history. */
  history: string;
  /** Every history side by its links, the largest (history) included. */
  histories: Map<number, string>;
  close(): Promise<void>;
}

/**
 * Two databases on one server, side by side: on BENCH_DATABASE_URL's server (created and dropped here), else on a
 * throwaway embedded PostgreSQL. Autovacuum is off on the links table of both, so the statistics stay as stale as
 * on a 100M-link table, where autoanalyze waits for millions of changes.
 */
export async function createDatabases(
  serverUrl: string | undefined,
  sides: number[],
  log: (line: string) => void,
): Promise<ScaleDatabases> {
  const server = serverUrl ? { url: serverUrl, stop: async () => undefined } : await startThrowawayPostgres(log);
  const names: Record<string, string> = { small: `bench_scale_small_${process.pid}` };
  for (const links of sides) names[links] = `bench_scale_history_${links}_${process.pid}`;
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: withDatabase(server.url, 'postgres') });
    await client.connect();
    await client.query(sql).finally(() => client.end());
  };
  for (const name of Object.values(names)) {
    await admin(`DROP DATABASE IF EXISTS "${name}"`);
    await admin(`CREATE DATABASE "${name}"`);
    const dataSource = await new DataSource(dataSourceOptions({ url: withDatabase(server.url, name) })).initialize();
    await dataSource.runMigrations();
    await dataSource.query(`ALTER TABLE mgmt.embed_task_chunk SET (autovacuum_enabled = false)`);
    await dataSource.destroy();
  }
  return {
    server: serverUrl ? 'BENCH_DATABASE_URL' : 'embedded PostgreSQL (temporary)',
    small: withDatabase(server.url, names.small),
    history: withDatabase(server.url, names[sides[sides.length - 1]]),
    histories: new Map(sides.map((links) => [links, withDatabase(server.url, names[links])])),
    close: async () => {
      for (const name of Object.values(names)) await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await server.stop();
    },
  };
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A connection for plain SQL: history, fresh tasks, claims, sizes. */
export async function connect(url: string, name: string): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: `bench-scale-${name}` });
  await client.connect();
  return client;
}

/**
 * The history, by SQL as users feed it: one finished task of `links` done links (its first `vectors` chunks with a
 * stored vector), and `tasks` finished tasks of 5 done links, then ANALYZE. In slices of 1M links, so a 10M run
 * does not hold one huge transaction.
 */
export async function buildHistory(
  client: Client,
  shape: HistoryShape,
  log: (line: string) => void,
  settle: boolean,
): Promise<number> {
  const started = performance.now();
  const big = await client.query(
    `INSERT INTO mgmt.task (name, model, started_at) VALUES ('history', $1, now()) RETURNING id`,
    [HISTORY_MODEL],
  );
  const taskId = Number(big.rows[0].id);
  for (let from = 0; from < shape.links; from += 1_000_000) {
    const n = Math.min(1_000_000, shape.links - from);
    await client.query(
      `WITH c AS (INSERT INTO mgmt.embed_chunk (text, metadata)
                  SELECT 'history chunk ' || g || ': ' || repeat('lorem ipsum dolor sit amet ', (1 + g % 7)::int), jsonb_build_object('n', g)
                  FROM generate_series($2::bigint, $3::bigint) g RETURNING id)
       INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id, status, attempts, done_at)
       SELECT $1, id, 'done', 1, now() FROM c ORDER BY id`,
      [taskId, from + 1, from + n],
    );
    log(`  history: ${from + n} of ${shape.links} done links (${Math.round((performance.now() - started) / 1000)} s)`);
  }
  await client.query(
    `INSERT INTO mgmt.embedding (chunk_id, model, dimensions, embedding, content_hash)
     SELECT c.id, $2, $3::int, (SELECT array_agg(((random() - 0.5) / 8)::real) FROM generate_series(1, $3::int + (c.id % 1)::int)),
            c.content_hash
     FROM mgmt.embed_task_chunk l JOIN mgmt.embed_chunk c ON c.id = l.chunk_id
     WHERE l.task_id = $1 AND l.id <= (SELECT min(id) FROM mgmt.embed_task_chunk WHERE task_id = $1) + $4::bigint - 1`,
    [taskId, HISTORY_MODEL, shape.dimensions, shape.vectors],
  );
  log(
    `  history: ${shape.vectors} vectors of ${shape.dimensions} dimensions (${Math.round((performance.now() - started) / 1000)} s)`,
  );
  await client.query(
    `WITH t AS (INSERT INTO mgmt.task (name, model, started_at) SELECT 'small ' || g, 'tiny', now()
                FROM generate_series(1, $1::int) g RETURNING id),
          tn AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM t),
          c AS (INSERT INTO mgmt.embed_chunk (text) SELECT 'small task chunk ' || g FROM generate_series(1, $1::int * 5) g RETURNING id),
          cn AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM c)
     INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id, status, attempts, done_at)
     SELECT tn.id, cn.id, 'done', 1, now() FROM cn JOIN tn ON tn.n = cn.n / 5`,
    [shape.tasks],
  );
  await client.query('ANALYZE');
  log(
    `  history: ${shape.tasks} finished tasks of 5 links, ANALYZE (${Math.round((performance.now() - started) / 1000)} s)`,
  );
  if (settle) await settleAfterBulkLoad(client, log);
  return taskId;
}

/**
 * What a database that grew over months has long done and one bulk-loaded a minute ago has not: its autovacuum of the
 * new rows (PostgreSQL 13+ vacuums a table after autovacuum_vacuum_insert_threshold inserts, which sets hint bits
 * and the visibility map over every new page) and the checkpoint of the gigabytes written. Left to run on their own,
 * both run for minutes on a 2-core machine during the timed runs (BENCH_SCALE_SETTLE=0 shows it).
 */
async function settleAfterBulkLoad(client: Client, log: (line: string) => void): Promise<void> {
  const started = performance.now();
  await client.query('VACUUM (ANALYZE) mgmt.embed_chunk, mgmt.embedding, mgmt.task, mgmt.embed_task_chunk');
  await client.query('CHECKPOINT');
  log(
    `  history: VACUUM (ANALYZE) and CHECKPOINT after the bulk load (${Math.round((performance.now() - started) / 1000)} s)`,
  );
}

/** One finished task of `links` done links with no vectors: the small side of the API comparison. */
export async function addDoneTask(client: Client, links: number): Promise<number> {
  const task = await client.query(
    `INSERT INTO mgmt.task (name, model, started_at) VALUES ('small', $1, now()) RETURNING id`,
    [HISTORY_MODEL],
  );
  const taskId = Number(task.rows[0].id);
  await client.query(
    `WITH c AS (INSERT INTO mgmt.embed_chunk (text) SELECT 'small chunk ' || g FROM generate_series(1, $2::int) g RETURNING id)
     INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id, status, attempts, done_at) SELECT $1, id, 'done', 1, now() FROM c ORDER BY id`,
    [taskId, links],
  );
  await client.query('ANALYZE');
  return taskId;
}

/** A pending task of `links` new chunks of a model, fed in one statement (statistics now stale: no ANALYZE). */
export async function addPendingTask(client: Client, model: string, links: number, prefix: string): Promise<number> {
  const task = await client.query(`INSERT INTO mgmt.task (name, model) VALUES ($1, $2) RETURNING id`, [prefix, model]);
  const taskId = Number(task.rows[0].id);
  await client.query(
    `WITH c AS (INSERT INTO mgmt.embed_chunk (text) SELECT $2 || ' ' || g FROM generate_series(1, $3::int) g RETURNING id)
     INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) SELECT $1, id FROM c ORDER BY id`,
    [taskId, prefix, links],
  );
  return taskId;
}

/** The link id at `fraction` of a task's links, for a keyset page deep in it. */
export async function linkAt(client: Client, taskId: number, fraction: number): Promise<number> {
  const { rows } = await client.query(`SELECT done FROM mgmt.task WHERE id = $1`, [taskId]);
  const offset = Math.floor(Number(rows[0].done) * fraction);
  const link = await client.query(
    `SELECT id FROM mgmt.embed_task_chunk WHERE task_id = $1 AND status = 'done' ORDER BY id OFFSET $2 LIMIT 1`,
    [taskId, offset],
  );
  return Number(link.rows[0].id);
}
