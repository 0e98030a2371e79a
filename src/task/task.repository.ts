import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ChunkStatus, TaskStatus } from './task-status';

/** A task row with counts aggregated from its links: the counts are never stored, so they cannot drift. */
export interface TaskRow {
  id: number;
  name: string;
  model: string;
  stored_status: TaskStatus;
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
}

export interface TaskChunkRow {
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

/**
 * The status callers see. Only `cancelled` is taken from the row as set by hand; everything else follows the
 * links, so a task fed by plain SQL reads exactly like one made through the API.
 */
const DERIVED_STATUS = `
  CASE
    WHEN t.status = 'cancelled' THEN 'cancelled'
    WHEN c.total > 0 AND c.pending = 0 AND c.in_progress = 0 THEN CASE WHEN c.failed > 0 THEN 'failed' ELSE 'completed' END
    WHEN c.in_progress + c.done + c.failed > 0 OR t.started_at IS NOT NULL THEN 'running'
    ELSE 'pending'
  END`;

// One pass over the task's links through embed_task_chunk_task_status_idx.
const TASK_WITH_COUNTS = `
  SELECT t.id, t.name, t.model, t.status AS stored_status, ${DERIVED_STATUS} AS status, t.priority, t.metadata,
         t.last_error, t.created_at, t.updated_at, t.started_at, t.finished_at,
         c.total, c.pending, c.in_progress, c.done, c.failed, c.last_done_at
  FROM mgmt.task t
  CROSS JOIN LATERAL (
    SELECT count(*)::int AS total,
           count(*) FILTER (WHERE l.status = 'pending')::int AS pending,
           count(*) FILTER (WHERE l.status = 'in_progress')::int AS in_progress,
           count(*) FILTER (WHERE l.status = 'done')::int AS done,
           count(*) FILTER (WHERE l.status = 'failed')::int AS failed,
           max(l.done_at) AS last_done_at
    FROM mgmt.embed_task_chunk l
    WHERE l.task_id = t.id
  ) c`;

/** All SQL of the task feature. Methods that take a manager run inside the caller's transaction. */
@Injectable()
export class TaskRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async insertTask(manager: EntityManager, task: NewTask): Promise<number> {
    const rows = await manager.query(
      `INSERT INTO mgmt.task (name, model, priority, metadata) VALUES ($1, $2, $3, $4) RETURNING id`,
      [task.name, task.model, task.priority, task.metadata],
    );
    return rows[0].id;
  }

  /** Locks the task row so concurrent appends, cancels and retries see one another's effects in order. */
  async lockTask(manager: EntityManager, id: number): Promise<TaskRow | undefined> {
    await manager.query(`SELECT 1 FROM mgmt.task WHERE id = $1 FOR UPDATE`, [id]);
    return this.findTask(id, manager);
  }

  async findTask(id: number, manager: EntityManager = this.dataSource.manager): Promise<TaskRow | undefined> {
    const rows = await manager.query(`${TASK_WITH_COUNTS} WHERE t.id = $1`, [id]);
    return rows[0];
  }

  async listTasks(filter: { status?: TaskStatus; limit: number; offset: number }): Promise<[TaskRow[], number]> {
    const where = `WHERE $1::text IS NULL OR x.status = $1`;
    const base = `SELECT * FROM (${TASK_WITH_COUNTS}) x ${where}`;
    const params = [filter.status ?? null];
    const [rows, count] = await Promise.all([
      this.dataSource.query(`${base} ORDER BY x.id DESC LIMIT $2 OFFSET $3`, [...params, filter.limit, filter.offset]),
      this.dataSource.query(`SELECT count(*)::int AS total FROM (${base}) y`, params),
    ]);
    return [rows, count[0].total];
  }

  /** Creates the chunks and links them to the task in one statement; returns how many were added. */
  async insertChunks(manager: EntityManager, taskId: number, chunks: NewChunk[]): Promise<number> {
    if (chunks.length === 0) return 0;
    const rows = await manager.query(
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
    const rows = await manager.query(
      `INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id)
       SELECT $1, id FROM unnest($2::bigint[]) AS u(id)
       ON CONFLICT (task_id, chunk_id) DO NOTHING RETURNING id`,
      [taskId, chunkIds],
    );
    return rows.length;
  }

  async findMissingChunkIds(manager: EntityManager, chunkIds: number[]): Promise<number[]> {
    if (chunkIds.length === 0) return [];
    const rows = await manager.query(
      `SELECT u.id FROM unnest($1::bigint[]) AS u(id)
       WHERE NOT EXISTS (SELECT 1 FROM mgmt.embed_chunk c WHERE c.id = u.id) ORDER BY u.id`,
      [chunkIds],
    );
    return rows.map((row: { id: number }) => row.id);
  }

  async markCancelled(manager: EntityManager, id: number): Promise<void> {
    await manager.query(`UPDATE mgmt.task SET status = 'cancelled', finished_at = now() WHERE id = $1`, [id]);
  }

  /** Failed links go back to pending with their attempts reset; the task is open again. */
  async requeueFailed(manager: EntityManager, id: number): Promise<number> {
    // TypeORM answers an UPDATE with [rows, affected].
    const [, requeued] = await manager.query(
      `UPDATE mgmt.embed_task_chunk
       SET status = 'pending', attempts = 0, last_error = NULL, lease_owner = NULL, lease_expires_at = NULL
       WHERE task_id = $1 AND status = 'failed'`,
      [id],
    );
    await this.reopen(manager, id);
    // Inserts notify senders through a trigger; a retry is an update, so it says so itself (sent on commit).
    await manager.query(`SELECT pg_notify('embedding_tasks_work', '')`);
    return requeued;
  }

  /** A task that gets work again is no longer finished. */
  async reopen(manager: EntityManager, id: number): Promise<void> {
    await manager.query(
      `UPDATE mgmt.task
       SET status = CASE WHEN started_at IS NULL THEN 'pending' ELSE 'running' END, finished_at = NULL, last_error = NULL
       WHERE id = $1 AND status IN ('completed', 'failed')`,
      [id],
    );
  }

  async deleteTask(manager: EntityManager, id: number): Promise<void> {
    await manager.query(`DELETE FROM mgmt.task WHERE id = $1`, [id]);
  }

  async listTaskChunks(
    taskId: number,
    filter: { status?: ChunkStatus; limit: number; offset: number },
  ): Promise<[TaskChunkRow[], number]> {
    const where = `WHERE l.task_id = $1 AND ($2::text IS NULL OR l.status = $2)`;
    const params = [taskId, filter.status ?? null];
    const [rows, count] = await Promise.all([
      this.dataSource.query(
        `SELECT l.chunk_id, l.status, l.attempts, l.last_error, l.done_at, l.lease_owner, l.lease_expires_at,
                c.content_hash, c.text
         FROM mgmt.embed_task_chunk l JOIN mgmt.embed_chunk c ON c.id = l.chunk_id
         ${where} ORDER BY l.id LIMIT $3 OFFSET $4`,
        [...params, filter.limit, filter.offset],
      ),
      this.dataSource.query(`SELECT count(*)::int AS total FROM mgmt.embed_task_chunk l ${where}`, params),
    ]);
    return [rows, count[0].total];
  }

  async findChunk(id: number): Promise<ChunkRow | undefined> {
    const rows = await this.dataSource.query(
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
}
