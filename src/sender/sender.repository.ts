import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** One claimed link with what embedding it needs. */
export interface ClaimedChunk {
  linkId: number;
  taskId: number;
  chunkId: number;
  attempts: number;
  text: string;
  contentHash: string;
}

export interface ClaimedBatch {
  model: string;
  items: ClaimedChunk[];
  /** Tasks this claim turned from pending to running (their first claim), for the log. */
  startedTaskIds?: number[];
}

export interface ClaimRequest {
  owner: string;
  models: string[];
  batchSize: number;
  leaseSeconds: number;
}

export interface FinishedTask {
  id: number;
  status: 'completed' | 'failed';
  done: number;
  failed: number;
}

/** A row of the claim statement: a claimed link, and whether the claim started its task. */
type ClaimedRow = Record<string, unknown> & { model: string; task_id: number; task_started: boolean };

/** Tasks considered together when spreading one batch across tasks (round-robin). */
const FAIR_TASKS = 32;

/**
 * All SQL of the sender. Claiming is one statement with FOR UPDATE SKIP LOCKED, so competing workers never
 * take the same link, and no transaction stays open while a batch is embedded or delivered: the lease
 * (owner, expiry) is what holds the work, and an expired lease is taken back by anyone.
 */
@Injectable()
export class SenderRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Picks the model and priority level served next (highest priority, then oldest task), then takes up to
   * `batchSize` pending links of that level's tasks, round-robin across tasks (rank within task first), so a
   * huge task does not starve a small one. The same statement turns the claimed links' pending tasks running (one
   * round trip instead of two per batch; it locks a task row only on the task's first claim). Returns undefined
   * when there is nothing to claim.
   */
  async claim(request: ClaimRequest): Promise<ClaimedBatch | undefined> {
    const rows: ClaimedRow[] = await this.dataSource.query(
      `WITH next_level AS (
         SELECT t.model, t.priority FROM mgmt.task t
         WHERE t.status <> 'cancelled' AND t.model = ANY($1::text[])
           AND EXISTS (SELECT 1 FROM mgmt.embed_task_chunk l
                       WHERE l.task_id = t.id AND l.status = 'pending' AND l.available_at <= now())
         ORDER BY t.priority DESC, t.id
         LIMIT 1
       ),
       level_tasks AS (
         SELECT t.id FROM mgmt.task t JOIN next_level n ON t.model = n.model AND t.priority = n.priority
         WHERE t.status <> 'cancelled'
           AND EXISTS (SELECT 1 FROM mgmt.embed_task_chunk l
                       WHERE l.task_id = t.id AND l.status = 'pending' AND l.available_at <= now())
         ORDER BY t.id
         LIMIT ${FAIR_TASKS}
       ),
       candidates AS (
         SELECT c.id, c.rank, lt.id AS task_id FROM level_tasks lt
         CROSS JOIN LATERAL (
           SELECT l.id, row_number() OVER (ORDER BY l.id) AS rank FROM mgmt.embed_task_chunk l
           WHERE l.task_id = lt.id AND l.status = 'pending' AND l.available_at <= now()
           ORDER BY l.id
           LIMIT $2
         ) c
       ),
       picked AS (
         SELECT l.id FROM mgmt.embed_task_chunk l
         JOIN (SELECT id, rank, task_id FROM candidates ORDER BY rank, task_id LIMIT $2) c ON c.id = l.id
         WHERE l.status = 'pending'
         FOR UPDATE OF l SKIP LOCKED
       ),
       claimed AS (
         UPDATE mgmt.embed_task_chunk l
         SET status = 'in_progress', lease_owner = $3, lease_expires_at = now() + make_interval(secs => $4),
             attempts = l.attempts + 1
         FROM picked, mgmt.embed_chunk c, mgmt.task t
         WHERE l.id = picked.id AND c.id = l.chunk_id AND t.id = l.task_id
         RETURNING l.id AS link_id, l.task_id, l.chunk_id, l.attempts, c.text, c.content_hash, t.model
       ),
       started AS (
         UPDATE mgmt.task SET status = 'running', started_at = coalesce(started_at, now())
         WHERE id IN (SELECT task_id FROM claimed) AND status = 'pending'
         RETURNING id
       )
       SELECT claimed.*, claimed.task_id IN (SELECT id FROM started) AS task_started FROM claimed`,
      [request.models, request.batchSize, request.owner, request.leaseSeconds],
    );
    if (rows.length === 0) return undefined;
    const startedTaskIds = [...new Set(rows.filter((row) => row.task_started).map((row) => row.task_id))];
    return { model: rows[0].model, items: rows.map(toClaimedChunk), startedTaskIds };
  }

  /** Leases whose worker died: back to pending, or failed once they have used every attempt. */
  async reclaimExpired(maxAttempts: number): Promise<number> {
    const [, count] = await this.dataSource.query(
      `UPDATE mgmt.embed_task_chunk
       SET status = CASE WHEN attempts >= $1 THEN 'failed' ELSE 'pending' END,
           last_error = CASE WHEN attempts >= $1 THEN 'lease expired on the last attempt (worker died?)' ELSE last_error END,
           lease_owner = NULL, lease_expires_at = NULL
       WHERE status = 'in_progress' AND lease_expires_at < now()`,
      [maxAttempts],
    );
    return count;
  }

  async renewLeases(owner: string, linkIds: number[], leaseSeconds: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE mgmt.embed_task_chunk SET lease_expires_at = now() + make_interval(secs => $3)
       WHERE id = ANY($2::bigint[]) AND lease_owner = $1 AND status = 'in_progress'`,
      [owner, linkIds, leaseSeconds],
    );
  }

  /** Only links this worker still holds: a link whose lease was lost belongs to whoever took it. */
  async markDone(owner: string, linkIds: number[]): Promise<number> {
    if (linkIds.length === 0) return 0;
    const [, count] = await this.dataSource.query(
      `UPDATE mgmt.embed_task_chunk
       SET status = 'done', done_at = now(), last_error = NULL, lease_owner = NULL, lease_expires_at = NULL
       WHERE id = ANY($2::bigint[]) AND lease_owner = $1 AND status = 'in_progress'`,
      [owner, linkIds],
    );
    return count;
  }

  async markFailed(owner: string, failures: { linkId: number; error: string }[]): Promise<void> {
    if (failures.length === 0) return;
    await this.dataSource.query(
      `UPDATE mgmt.embed_task_chunk l
       SET status = 'failed', last_error = f.error, lease_owner = NULL, lease_expires_at = NULL
       FROM unnest($2::bigint[], $3::text[]) AS f(id, error)
       WHERE l.id = f.id AND l.lease_owner = $1 AND l.status = 'in_progress'`,
      [owner, failures.map((f) => f.linkId), failures.map((f) => truncate(f.error))],
    );
  }

  /** A transient failure: pending again after a backoff, or failed when the attempts are used up. */
  async retryLater(owner: string, linkIds: number[], error: string, delayMs: number, maxAttempts: number): Promise<void> {
    if (linkIds.length === 0) return;
    await this.dataSource.query(
      `UPDATE mgmt.embed_task_chunk
       SET status = CASE WHEN attempts >= $4 THEN 'failed' ELSE 'pending' END,
           last_error = $3, available_at = now() + make_interval(secs => $5),
           lease_owner = NULL, lease_expires_at = NULL
       WHERE id = ANY($2::bigint[]) AND lease_owner = $1 AND status = 'in_progress'`,
      [owner, linkIds, truncate(error), maxAttempts, delayMs / 1000],
    );
  }

  /** Gives links back untouched (shutdown, cancelled task): pending at once, the attempt not counted. */
  async release(owner: string, linkIds?: number[]): Promise<number> {
    const [, count] = await this.dataSource.query(
      `UPDATE mgmt.embed_task_chunk
       SET status = 'pending', attempts = greatest(attempts - 1, 0), lease_owner = NULL, lease_expires_at = NULL
       WHERE lease_owner = $1 AND status = 'in_progress' AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))`,
      [owner, linkIds ?? null],
    );
    return count;
  }

  async cancelledTasks(taskIds: number[]): Promise<Set<number>> {
    const rows = await this.dataSource.query(
      `SELECT id FROM mgmt.task WHERE id = ANY($1::bigint[]) AND status = 'cancelled'`,
      [taskIds],
    );
    return new Set(rows.map((row: { id: number }) => row.id));
  }

  /**
   * Tasks whose links are all settled become completed, or failed when some failed. The open-link test is an index
   * probe per task, so checking after every batch stays cheap on tasks of millions of chunks; counting happens
   * only for the tasks that finish.
   */
  async finishTasks(taskIds: number[]): Promise<FinishedTask[]> {
    const [rows] = await this.dataSource.query(
      `WITH finished AS (
         SELECT t.id FROM mgmt.task t
         WHERE t.id = ANY($1::bigint[]) AND t.status IN ('pending', 'running')
           AND NOT EXISTS (SELECT 1 FROM mgmt.embed_task_chunk l
                           WHERE l.task_id = t.id AND l.status IN ('pending', 'in_progress'))
       ),
       counts AS (
         SELECT task_id, count(*) FILTER (WHERE status = 'done') AS done, count(*) FILTER (WHERE status = 'failed') AS failed
         FROM mgmt.embed_task_chunk WHERE task_id IN (SELECT id FROM finished) GROUP BY task_id
       )
       UPDATE mgmt.task t
       SET status = CASE WHEN c.failed > 0 THEN 'failed' ELSE 'completed' END, finished_at = now()
       FROM counts c
       WHERE t.id = c.task_id AND t.status IN ('pending', 'running')
       RETURNING t.id, t.status, c.done::int AS done, c.failed::int AS failed`,
      [taskIds],
    );
    return rows;
  }
}

function toClaimedChunk(row: Record<string, unknown>): ClaimedChunk {
  return {
    linkId: row.link_id as number,
    taskId: row.task_id as number,
    chunkId: row.chunk_id as number,
    attempts: row.attempts as number,
    text: row.text as string,
    contentHash: row.content_hash as string,
  };
}

const truncate = (error: string) => (error.length > 2000 ? `${error.slice(0, 2000)}…` : error);
