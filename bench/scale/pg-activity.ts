import { Client } from 'pg';

/** Counters of one database (and the cluster's WAL and checkpoints), read before and after a run. */
export interface PgCounters {
  /** pg_stat_database of this database. */
  blocksRead: number;
  blocksHit: number;
  commits: number;
  /** pg_stat_wal: the whole cluster (only one side runs at a time). */
  walBytes: number;
  walFullPageImages: number;
  /** Buffers the checkpointer wrote (pg_stat_checkpointer from PostgreSQL 17, pg_stat_bgwriter before). */
  checkpointBuffers: number;
  /** Per table: heap and index blocks read from outside shared buffers. */
  tables: Record<string, { heapRead: number; heapHit: number; indexRead: number; indexHit: number }>;
}

const TABLES = ['embed_task_chunk', 'embed_chunk', 'embedding', 'task'];

export async function readCounters(client: Client): Promise<PgCounters> {
  const database = await client.query(
    `SELECT blks_read, blks_hit, xact_commit FROM pg_stat_database WHERE datname = current_database()`,
  );
  const wal = await client.query(`SELECT wal_bytes, wal_fpi FROM pg_stat_wal`);
  const checkpoints = await client
    .query(`SELECT buffers_written AS written FROM pg_stat_checkpointer`)
    .catch(() => client.query(`SELECT buffers_checkpoint AS written FROM pg_stat_bgwriter`));
  const statio = await client.query(
    `SELECT relname, heap_blks_read, heap_blks_hit, coalesce(idx_blks_read, 0) AS idx_blks_read,
            coalesce(idx_blks_hit, 0) AS idx_blks_hit
     FROM pg_statio_user_tables WHERE schemaname = 'mgmt' AND relname = ANY($1)`,
    [TABLES],
  );
  const row = database.rows[0];
  return {
    blocksRead: Number(row.blks_read),
    blocksHit: Number(row.blks_hit),
    commits: Number(row.xact_commit),
    walBytes: Number(wal.rows[0].wal_bytes),
    walFullPageImages: Number(wal.rows[0].wal_fpi),
    checkpointBuffers: Number(checkpoints.rows[0].written),
    tables: Object.fromEntries(
      statio.rows.map((t) => [
        t.relname,
        {
          heapRead: Number(t.heap_blks_read),
          heapHit: Number(t.heap_blks_hit),
          indexRead: Number(t.idx_blks_read),
          indexHit: Number(t.idx_blks_hit),
        },
      ]),
    ),
  };
}

/** after − before, field by field. */
export function countersBetween(before: PgCounters, after: PgCounters): PgCounters {
  const tables = Object.fromEntries(
    Object.entries(after.tables).map(([name, t]) => {
      const b = before.tables[name] ?? { heapRead: 0, heapHit: 0, indexRead: 0, indexHit: 0 };
      return [
        name,
        {
          heapRead: t.heapRead - b.heapRead,
          heapHit: t.heapHit - b.heapHit,
          indexRead: t.indexRead - b.indexRead,
          indexHit: t.indexHit - b.indexHit,
        },
      ];
    }),
  );
  return {
    blocksRead: after.blocksRead - before.blocksRead,
    blocksHit: after.blocksHit - before.blocksHit,
    commits: after.commits - before.commits,
    walBytes: after.walBytes - before.walBytes,
    walFullPageImages: after.walFullPageImages - before.walFullPageImages,
    checkpointBuffers: after.checkpointBuffers - before.checkpointBuffers,
    tables,
  };
}

/**
 * Polls pg_stat_activity every `everyMs` for background work that competes with a run: autovacuum workers (and the
 * table each works on) and a running checkpoint. Stop answers how many polls saw each.
 */
export function sampleBackground(client: Client, everyMs = 500) {
  const seen: Record<string, number> = {};
  let polls = 0;
  let stopped = false;
  const poll = async () => {
    while (!stopped) {
      const { rows } = await client.query(
        `SELECT backend_type, datname, query FROM pg_stat_activity
         WHERE backend_type = 'autovacuum worker' OR (backend_type = 'checkpointer' AND wait_event IS DISTINCT FROM 'CheckpointerMain')`,
      );
      polls++;
      for (const row of rows) {
        const what =
          row.backend_type === 'checkpointer'
            ? 'checkpoint'
            : `autovacuum ${row.datname}: ${String(row.query)
                .replace(/^autovacuum: /, '')
                .slice(0, 60)}`;
        seen[what] = (seen[what] ?? 0) + 1;
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  };
  const running = poll();
  return async (): Promise<{ polls: number; seen: Record<string, number> }> => {
    stopped = true;
    await running;
    return { polls, seen };
  };
}
