import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PoolClient, QueryConfig, QueryResult, types } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { ALLOW_CANCELLED_CHANGE } from '../database/migrations/1765000000000-sql-writers';
import { retryOnConflict } from '../database/retry-conflicts';
import { Slots } from '../common/slots';
import { TASK_GATE_EXCLUSIVE_SQL } from './task-gate';
import { ChunkStatus, CHUNK_STATUSES, TaskStatus } from './task-status';

/**
 * A task row. The counts are the task's own columns, kept by triggers in the same transaction as every change to
 * its links (see the task-counters migration), and the status is derived from them by a trigger: reading a task
 * reads one row, however many links it has.
 */
export interface TaskRow {
  id: number;
  name: string;
  model: string;
  status: TaskStatus;
  priority: number;
  metadata: Record<string, unknown>;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  total: number;
  pending: number;
  in_progress: number;
  done: number;
  failed: number;
  last_done_at: Date | null;
  /** Kept by the sender in the transaction that marks links done (see the task-tokens migration). */
  tokens: number;
  saved_tokens: number;
  /** numeric, as text; null while no price was known. */
  cost: string | null;
}

export interface TaskChunkRow {
  /** The link's id: the keyset cursor of a task's chunks (they are listed in the order they were added). */
  id: number;
  chunk_id: number;
  status: ChunkStatus;
  attempts: number;
  last_error: string | null;
  done_at: Date | null;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  content_hash: string;
  text: string;
}

export interface ChunkRow {
  id: number;
  text: string;
  content_hash: string;
  metadata: Record<string, unknown>;
  created_at: Date;
}

export interface ChunkLinkRow {
  task_id: number;
  status: ChunkStatus;
  attempts: number;
  last_error: string | null;
  done_at: Date | null;
}

export interface NewTask {
  name: string;
  model: string;
  priority: number;
  metadata: Record<string, unknown>;
}

export interface NewChunk {
  text: string;
  metadata: Record<string, unknown>;
}

export interface TaskListFilter {
  status?: TaskStatus;
  /** Only tasks older than this id (the list is newest first). */
  after?: number;
  limit: number;
  offset: number;
}

export interface TaskChunkFilter {
  status?: ChunkStatus;
  /** Only links added after this one (a link id, from the previous page). */
  after?: number;
  limit: number;
  offset: number;
}

/** A task whose stored counts differ from a recount of its links. */
export interface CountDriftRow {
  id: number;
  stored: number[];
  counted: number[];
}

/** The order of the numbers in CountDriftRow. */
export const COUNTED_STATUSES = CHUNK_STATUSES;

const TASK_COLUMNS = `
  t.id, t.name, t.model, t.status, t.priority, t.metadata, t.last_error, t.created_at, t.updated_at, t.started_at,
  t.finished_at, t.pending + t.in_progress + t.done + t.failed AS total, t.pending, t.in_progress, t.done, t.failed,
  t.last_done_at, t.tokens, t.saved_tokens, t.cost`;

const LINK_COLUMNS = `l.id, l.chunk_id, l.status, l.attempts, l.last_error, l.done_at, l.lease_owner, l.lease_expires_at`;

/** A recount of links by task, in the order of COUNTED_STATUSES. */
const RECOUNT = `
  SELECT task_id, ARRAY[count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'in_progress'),
                        count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE status = 'failed')] AS counted
  FROM mgmt.embed_task_chunk`;

/**
 * A task's links of one status after a cursor, in the order they were added: a range of
 * embed_task_chunk_task_status_id_idx, read no further than the page needs.
 */
const linksOfStatus = (status: string, rows: string) =>
  `(SELECT ${LINK_COLUMNS} FROM mgmt.embed_task_chunk l
    WHERE l.task_id = $1 AND l.status = '${status}' AND l.id > $2 ORDER BY l.id LIMIT ${rows})`;

export interface ExportShape {
  model: string;
  text: boolean;
  metadata: boolean;
}

/** Links per export page: a few MB of vectors at most, whatever the task's size, read in a few milliseconds. */
export const EXPORT_PAGE_LINKS = 256;

/** Result parsers of the export's binary-format page: bytea as the Buffer it arrives in, the rest as node-postgres. */
const BINARY_BYTEA = {
  getTypeParser: (oid: number, format?: 'text' | 'binary'): ((value: unknown) => unknown) =>
    oid === (types.builtins.BYTEA as number) && format === 'binary'
      ? (value: unknown) => value
      : (types.getTypeParser(oid, format ?? 'text') as (value: unknown) => unknown),
};

/** Every export page read goes through this when the caller sets no budget of its own. */
const UNBOUNDED_READS = new Slots(Number.MAX_SAFE_INTEGER);

/**
 * One page of the export: the next EXPORT_PAGE_LINKS links of the task after link $3 and up to link $4, in the order
 * they were added, and one JSON line for each that has a stored vector for the model ($2). PostgreSQL builds the JSON
 * (its float4 output is the shortest text that reads back to the same float) and joins the page's lines into one
 * bytea, so the service passes bytes on. The links come from the four status ranges of task_status_id_idx merged by
 * id, each read no further than the page: the cost is the page, not the task. `last` is the last link read (the
 * next page's keyset), also when none of the page's links has a vector.
 */
export function exportPageSql(shape: ExportShape): string {
  const fields = [
    `'chunk_id', l.chunk_id`,
    ...(shape.text ? [`'text', c.text`] : []),
    ...(shape.metadata ? [`'metadata', c.metadata`] : []),
    `'model', e.model`,
    `'embedding', e.embedding`,
  ];
  const links = CHUNK_STATUSES.map(
    (status) =>
      `(SELECT id, chunk_id FROM mgmt.embed_task_chunk
        WHERE task_id = $1 AND status = '${status}' AND id > $3 AND id <= $4 ORDER BY id LIMIT ${EXPORT_PAGE_LINKS})`,
  ).join(' UNION ALL ');
  const chunk = shape.text || shape.metadata ? 'JOIN mgmt.embed_chunk c ON c.id = e.chunk_id' : '';
  // LATERAL with LIMIT 1 (the primary key allows one row; the limit keeps the planner from flattening it into a
  // join): one primary-key probe of embedding and embed_chunk per link of the page. A plain join let the planner
  // hash the whole of embed_chunk for every page, which made an export quadratic in the task's size.
  return `WITH l AS MATERIALIZED (SELECT id, chunk_id FROM (${links}) u ORDER BY id LIMIT ${EXPORT_PAGE_LINKS})
          SELECT (SELECT max(id) FROM l) AS last,
                 coalesce((SELECT string_agg(v.line, ''::bytea ORDER BY l.id)
                           FROM l CROSS JOIN LATERAL (
                             SELECT convert_to(json_build_object(${fields.join(', ')})::text || E'\\n', 'UTF8') AS line
                             FROM mgmt.embedding e ${chunk}
                             WHERE e.chunk_id = l.chunk_id AND e.model = $2 LIMIT 1) v),
                          ''::bytea) AS lines`;
}

/** The task's newest link when the export starts: links added later are not exported (one index probe per status). */
const EXPORT_END_SQL = `SELECT coalesce(greatest(${CHUNK_STATUSES.map(
  (status) => `(SELECT max(id) FROM mgmt.embed_task_chunk WHERE task_id = $1 AND status = '${status}')`,
).join(', ')}), 0) AS last`;

/** Most chunks, and most text characters, per INSERT statement of insertChunks. */
export const INSERT_SLICE = { chunks: 1000, chars: 2_000_000 };

/** The chunks in order, cut into slices within INSERT_SLICE (a longer text makes a slice of its own). */
export function insertSlices(chunks: NewChunk[]): NewChunk[][] {
  const slices: NewChunk[][] = [];
  let current: NewChunk[] = [];
  let chars = 0;
  for (const chunk of chunks) {
    const full = current.length >= INSERT_SLICE.chunks || chars + chunk.text.length > INSERT_SLICE.chars;
    if (full && current.length > 0) {
      slices.push(current);
      current = [];
      chars = 0;
    }
    current.push(chunk);
    chars += chunk.text.length;
  }
  if (current.length > 0) slices.push(current);
  return slices;
}

/** All SQL of the task feature. Methods that take a manager run inside the caller's transaction. */
@Injectable()
export class TaskRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** One transaction, run again when PostgreSQL aborts it for a deadlock (see retryOnConflict). */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return retryOnConflict(() => this.dataSource.transaction(work));
  }

  async insertTask(manager: EntityManager, task: NewTask): Promise<number> {
    const rows = await manager.query<{ id: number }[]>(
      `INSERT INTO mgmt.task (name, model, priority, metadata) VALUES ($1, $2, $3, $4) RETURNING id`,
      [task.name, task.model, task.priority, task.metadata],
    );
    return rows[0].id;
  }

  /** Locks the task row so concurrent appends, cancels and retries see one another's effects in order. */
  async lockTask(manager: EntityManager, id: number): Promise<TaskRow | undefined> {
    const rows = await manager.query<TaskRow[]>(`SELECT ${TASK_COLUMNS} FROM mgmt.task t WHERE t.id = $1 FOR UPDATE`, [
      id,
    ]);
    return rows[0];
  }

  async findTask(id: number, manager: EntityManager = this.dataSource.manager): Promise<TaskRow | undefined> {
    const rows = await manager.query<TaskRow[]>(`SELECT ${TASK_COLUMNS} FROM mgmt.task t WHERE t.id = $1`, [id]);
    return rows[0];
  }

  /**
   * Newest first, `limit + 1` rows (the extra one says whether there is a next page), from task_status_id_idx or
   * the primary key, read no further than the page (plus `offset`).
   */
  async listTasks(filter: TaskListFilter): Promise<TaskRow[]> {
    const status = filter.status ? `t.status = $1` : `$1::text IS NULL`;
    return this.dataSource.query(
      `SELECT ${TASK_COLUMNS} FROM mgmt.task t WHERE ${status} AND t.id < $2 ORDER BY t.id DESC LIMIT $3 OFFSET $4`,
      [filter.status ?? null, filter.after ?? Number.MAX_SAFE_INTEGER, filter.limit + 1, filter.offset],
    );
  }

  /**
   * Creates the chunks and links them to the task, a slice per statement (in the caller's transaction): building one
   * statement of 10,000 texts (16 MB of parameters) held the event loop for tens of milliseconds in one go. Returns
   * how many were added.
   */
  async insertChunks(manager: EntityManager, taskId: number, chunks: NewChunk[]): Promise<number> {
    let added = 0;
    for (const slice of insertSlices(chunks)) added += await this.insertChunkSlice(manager, taskId, slice);
    return added;
  }

  /** One statement: the chunks, and their links to the task. */
  private async insertChunkSlice(manager: EntityManager, taskId: number, chunks: NewChunk[]): Promise<number> {
    const rows = await manager.query<unknown[]>(
      `WITH new_chunk AS (
         INSERT INTO mgmt.embed_chunk (text, metadata)
         SELECT u.text, u.metadata FROM unnest($2::text[], $3::jsonb[]) AS u(text, metadata)
         RETURNING id
       )
       INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) SELECT $1, id FROM new_chunk RETURNING id`,
      [taskId, chunks.map((chunk) => chunk.text), chunks.map((chunk) => JSON.stringify(chunk.metadata))],
    );
    return rows.length;
  }

  /** Links existing chunks; a chunk already in the task is left as it is. Returns how many were added. */
  async linkChunks(manager: EntityManager, taskId: number, chunkIds: number[]): Promise<number> {
    if (chunkIds.length === 0) return 0;
    const rows = await manager.query<unknown[]>(
      `INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id)
       SELECT $1, id FROM unnest($2::bigint[]) AS u(id)
       ON CONFLICT (task_id, chunk_id) DO NOTHING RETURNING id`,
      [taskId, chunkIds],
    );
    return rows.length;
  }

  async findMissingChunkIds(manager: EntityManager, chunkIds: number[]): Promise<number[]> {
    if (chunkIds.length === 0) return [];
    const rows = await manager.query<{ id: number }[]>(
      `SELECT u.id FROM unnest($1::bigint[]) AS u(id)
       WHERE NOT EXISTS (SELECT 1 FROM mgmt.embed_chunk c WHERE c.id = u.id) ORDER BY u.id`,
      [chunkIds],
    );
    return rows.map((row) => row.id);
  }

  /** Waits for the task's deliveries in flight and keeps new ones out until the transaction ends (task-gate.ts). */
  async closeDeliveryGate(manager: EntityManager, id: number): Promise<void> {
    await manager.query(TASK_GATE_EXCLUSIVE_SQL, [id]);
  }

  /**
   * Lets this transaction move a task out of `cancelled` (the migration-1765000000000 trigger refuses every other
   * writer): cancel and retry call it, and nothing else should. Transaction-local, so it ends with the transaction.
   */
  async allowCancelledChange(manager: EntityManager): Promise<void> {
    await manager.query(`SELECT set_config($1, 'on', true)`, [ALLOW_CANCELLED_CHANGE]);
  }

  async markCancelled(manager: EntityManager, id: number): Promise<void> {
    await manager.query(`UPDATE mgmt.task SET status = 'cancelled', finished_at = now() WHERE id = $1`, [id]);
  }

  /** Undoes markCancelled: the status trigger derives the status from the links again (pending, running or done). */
  async markResumed(manager: EntityManager, id: number): Promise<void> {
    await manager.query(`UPDATE mgmt.task SET status = 'pending' WHERE id = $1`, [id]);
  }

  /**
   * Failed links go back to pending, due now, with their attempts reset; the counter trigger reopens the task.
   * Inserts notify senders through a trigger; a retry is an update, so it says so itself (sent on commit).
   */
  async requeueFailed(manager: EntityManager, id: number): Promise<number> {
    // TypeORM answers an UPDATE with [rows, affected].
    const [, requeued] = await manager.query<[unknown, number]>(
      `UPDATE mgmt.embed_task_chunk
       SET status = 'pending', attempts = 0, last_error = NULL, lease_owner = NULL, lease_expires_at = NULL,
           available_at = now()
       WHERE task_id = $1 AND status = 'failed'`,
      [id],
    );
    await manager.query(`SELECT pg_notify('embedding_tasks_work', '')`);
    return requeued;
  }

  async deleteTask(manager: EntityManager, id: number): Promise<void> {
    await manager.query(`DELETE FROM mgmt.task WHERE id = $1`, [id]);
  }

  /**
   * A page of a task's links in the order they were added, after a cursor: with a status, one index range; without,
   * the four status ranges merged by id (MergeAppend), each read no further than the page. Either way the cost is
   * the page (plus `offset`), not the task.
   */
  async listTaskChunks(taskId: number, filter: TaskChunkFilter): Promise<TaskChunkRow[]> {
    const rows = `${filter.limit + 1 + filter.offset}`;
    const statuses = filter.status ? [filter.status] : CHUNK_STATUSES;
    const links = statuses.map((status) => linksOfStatus(status, rows)).join(' UNION ALL ');
    return this.dataSource.query(
      `SELECT l.*, c.content_hash, c.text
       FROM (SELECT * FROM (${links}) u ORDER BY u.id LIMIT $3 OFFSET $4) l
       JOIN mgmt.embed_chunk c ON c.id = l.chunk_id
       ORDER BY l.id`,
      [taskId, filter.after ?? 0, filter.limit + 1, filter.offset],
    );
  }

  async findChunk(id: number): Promise<ChunkRow | undefined> {
    const rows = await this.dataSource.query<ChunkRow[]>(
      `SELECT id, text, content_hash, metadata, created_at FROM mgmt.embed_chunk WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  async findChunkLinks(chunkId: number): Promise<ChunkLinkRow[]> {
    return this.dataSource.query(
      `SELECT task_id, status, attempts, last_error, done_at FROM mgmt.embed_task_chunk WHERE chunk_id = $1 ORDER BY task_id`,
      [chunkId],
    );
  }

  /**
   * The export, one page (EXPORT_PAGE_LINKS links) at a time, each page one short statement on a pooled connection
   * taken through `reads` and given back before the page is handed on: no transaction, cursor or connection is held
   * while the consumer (a slow client) takes its time, and memory stays a page whatever the task's size. The links
   * are those the task has when the export starts, in the order they were added; each page reads the vectors stored
   * by then. The lines come as one bytea per page (binary format): no string per line on the JavaScript heap.
   */
  async *exportLines(taskId: number, shape: ExportShape, reads: Slots = UNBOUNDED_READS): AsyncGenerator<Buffer> {
    const [{ last: end }] = await reads.run(() => this.dataSource.query<{ last: number }[]>(EXPORT_END_SQL, [taskId]));
    const sql = exportPageSql(shape);
    for (let after = 0; after < end;) {
      const page = await reads.run(() => this.exportPage(sql, [taskId, shape.model, after, end]));
      if (page.last === null) return;
      after = Number(page.last);
      if (page.lines.length > 0) yield page.lines;
    }
  }

  private async exportPage(sql: string, parameters: unknown[]): Promise<{ last: string | null; lines: Buffer }> {
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    try {
      // `binary` is node-postgres' per-query result format (missing from its type definitions); its own binary
      // parsers have none for bytea (they would make it a string), so the bytes are taken as they come.
      const query = { text: sql, values: parameters, binary: true, types: BINARY_BYTEA } as QueryConfig;
      const { rows }: QueryResult<{ last: string | null; lines: Buffer }> = await client.query(query);
      return rows[0];
    } finally {
      await runner.release();
    }
  }

  /**
   * Tasks whose counters differ from a recount of their links. One statement, so the counters and the links are
   * read in one snapshot: work in flight cannot show up as drift. It reads every link of the tasks checked (all
   * of them without `taskId`): an operator's check, not something to run on every request.
   */
  async findCountDrift(taskId?: number): Promise<{ checked: number; drifted: CountDriftRow[] }> {
    const [row] = await this.dataSource.query<{ checked: number; drifted: CountDriftRow[] }[]>(
      `WITH counted AS (${RECOUNT} WHERE $1::bigint IS NULL OR task_id = $1 GROUP BY task_id),
       compared AS (
         SELECT t.id, ARRAY[t.pending, t.in_progress, t.done, t.failed] AS stored,
                coalesce(c.counted, ARRAY[0, 0, 0, 0]::bigint[]) AS counted
         FROM mgmt.task t LEFT JOIN counted c ON c.task_id = t.id
         WHERE $1::bigint IS NULL OR t.id = $1
       )
       SELECT count(*)::int AS checked,
              coalesce(json_agg(json_build_object('id', id, 'stored', stored, 'counted', counted) ORDER BY id)
                       FILTER (WHERE stored <> counted), '[]') AS drifted
       FROM compared`,
      [taskId ?? null],
    );
    return row;
  }

  /**
   * Sets the counters of these tasks to a recount, exactly even while links change: the task rows are locked first
   * (in id order, as the counter trigger locks them), so every transaction that already added its changes to them
   * has committed before the recount reads the links, and every later one adds its changes to the recount.
   */
  async repairCounts(taskIds: number[]): Promise<void> {
    if (taskIds.length === 0) return;
    await this.transaction(async (manager) => {
      await manager.query(`SELECT 1 FROM mgmt.task WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE`, [
        taskIds,
      ]);
      await manager.query(
        `UPDATE mgmt.task t
         SET pending = coalesce(c.counted[1], 0), in_progress = coalesce(c.counted[2], 0),
             done = coalesce(c.counted[3], 0), failed = coalesce(c.counted[4], 0)
         FROM unnest($1::bigint[]) AS u(id)
         LEFT JOIN (${RECOUNT} WHERE task_id = ANY($1::bigint[]) GROUP BY task_id) c ON c.task_id = u.id
         WHERE t.id = u.id`,
        [taskIds],
      );
    });
  }
}
