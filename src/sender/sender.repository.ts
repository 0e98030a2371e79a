import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { retryOnConflict } from '../database/retry-conflicts';
import { TASK_GATE_SHARED_SQL } from '../task/task-gate';
import { Slots } from '../common/slots';

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
 * The claim, in steps whose cost depends only on the batch size and the number of open tasks of the served models:
 * never on finished tasks, done links or the planner's row estimates (each step is an index range scan with a
 * limit or a scan of a handful of rows, whatever the statistics say).
 *
 * - open_tasks: tasks of the served models that are open and have pending links, from the small partial index
 *   task_open_idx and the per-task counters (finished tasks are not in that index at all).
 * - ready: those with a link that is due now, one probe each into embed_task_chunk_claim_idx.
 * - level: the model and priority served next (highest priority, then oldest task); level_tasks: up to FAIR_TASKS
 *   ready tasks of that level, oldest first.
 * - water: how many links each task gives, so that the batch is spread round-robin (every task gives the same
 *   number, or all it has when it has fewer): the water level over the tasks' pending counts.
 * - picked: per task, an index range scan with LIMIT that locks only the links it returns, skipping links that
 *   a concurrent claim holds (SKIP LOCKED inside the scan, so competing workers take the next links instead of
 *   colliding on the first ones).
 * - claimed: the links turn in_progress with a lease and count the attempt.
 * - locked/started: the claimed tasks' rows, locked in id order (as the counter trigger does, so statements that
 *   touch several tasks never deadlock), and the first claim of a task stamps started_at; the counter trigger
 *   then turns its status to running.
 */
export const CLAIM_SQL = `
WITH open_tasks AS (
  SELECT t.id, t.model, t.priority, t.pending FROM mgmt.task t
  WHERE t.status IN ('pending', 'running') AND t.model = ANY($1::text[]) AND t.pending > 0
),
ready AS (
  SELECT o.id, o.model, o.priority, o.pending FROM open_tasks o
  WHERE EXISTS (SELECT 1 FROM mgmt.embed_task_chunk l
                WHERE l.task_id = o.id AND l.status = 'pending' AND l.available_at <= now())
),
level AS (SELECT r.model, r.priority FROM ready r ORDER BY r.priority DESC, r.id LIMIT 1),
level_tasks AS (
  SELECT r.id, r.pending, row_number() OVER w AS k, count(*) OVER () AS n,
         coalesce(sum(r.pending) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
  FROM (SELECT r.id, r.pending FROM ready r JOIN level USING (model, priority) ORDER BY r.id LIMIT ${FAIR_TASKS}) r
  WINDOW w AS (ORDER BY r.pending, r.id)
),
water AS (
  SELECT coalesce(
    (SELECT ($2 - before)::float8 / (n - k + 1) FROM level_tasks
     WHERE pending >= ($2 - before)::float8 / (n - k + 1) ORDER BY k LIMIT 1),
    'Infinity') AS level
),
picked AS (
  SELECT c.id, c.task_id, row_number() OVER (PARTITION BY c.task_id ORDER BY c.available_at, c.id) AS rank
  FROM level_tasks lt CROSS JOIN water w CROSS JOIN LATERAL (
    SELECT l.id, l.task_id, l.available_at FROM mgmt.embed_task_chunk l
    WHERE l.task_id = lt.id AND l.status = 'pending' AND l.available_at <= now()
    ORDER BY l.available_at, l.id
    LIMIT least(lt.pending, ceil(w.level))
    FOR UPDATE OF l SKIP LOCKED
  ) c
),
claimed AS (
  UPDATE mgmt.embed_task_chunk l
  SET status = 'in_progress', lease_owner = $3, lease_expires_at = now() + make_interval(secs => $4),
      attempts = l.attempts + 1
  FROM (SELECT id FROM picked ORDER BY rank, task_id LIMIT $2) b, mgmt.embed_chunk c
  WHERE l.id = b.id AND c.id = l.chunk_id
  RETURNING l.id AS link_id, l.task_id, l.chunk_id, l.attempts, c.text, c.content_hash
),
locked AS (
  SELECT t.id, t.started_at IS NULL AS fresh FROM mgmt.task t
  WHERE t.id IN (SELECT task_id FROM claimed) ORDER BY t.id FOR NO KEY UPDATE
),
started AS (
  UPDATE mgmt.task t SET started_at = now() FROM locked WHERE t.id = locked.id AND locked.fresh RETURNING t.id
)
SELECT claimed.*, (SELECT model FROM level) AS model, claimed.task_id IN (SELECT id FROM started) AS task_started
FROM claimed`;

/** Tasks that the current transaction finished: the status trigger stamps finished_at with the transaction's now(). */
const FINISHED_NOW = `
  SELECT id, status, done, failed FROM mgmt.task
  WHERE id = ANY($1::bigint[]) AND status IN ('completed', 'failed') AND finished_at = now()`;

/**
 * All SQL of the sender. Claiming is one statement with FOR UPDATE SKIP LOCKED, so competing workers never
 * take the same link, and no transaction stays open while a batch is embedded or delivered: the lease
 * (owner, expiry) is what holds the work, and an expired lease is taken back by anyone.
 *
 * Every statement that changes links also changes their tasks' counters (a trigger, same transaction), and the
 * statement that settles a task's last link finishes the task. Each settling statement runs in a transaction
 * that also reads which tasks it finished, so every finish is reported exactly once, by the worker whose
 * statement caused it (takeFinished).
 */
@Injectable()
export class SenderRepository {
  private readonly finished = new Map<number, FinishedTask>();
  /**
   * Deliveries holding a pooled connection across their HTTP call: at most half the pool, so the connections that
   * storing (the in-process receiver), settling and claiming need are never all held by gates waiting on them.
   */
  private readonly gates: Slots;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    const poolSize = (dataSource.options as { extra?: { max?: number } }).extra?.max ?? 10;
    this.gates = new Slots(Math.max(1, Math.floor(poolSize / 2)));
  }

  /**
   * Up to `batchSize` pending links of the next level's tasks, spread round-robin across them; the same statement
   * marks them in_progress with a lease. Returns undefined when there is nothing to claim.
   */
  async claim(request: ClaimRequest): Promise<ClaimedBatch | undefined> {
    const rows: ClaimedRow[] = await retryOnConflict(() =>
      this.dataSource.query(CLAIM_SQL, [request.models, request.batchSize, request.owner, request.leaseSeconds]),
    );
    if (rows.length === 0) return undefined;
    const startedTaskIds = [...new Set(rows.filter((row) => row.task_started).map((row) => row.task_id))];
    return { model: rows[0].model, items: rows.map(toClaimedChunk), startedTaskIds };
  }

  /**
   * Leases whose worker died, and in_progress links with no lease at all (written so by SQL; docs/sql-writers.md):
   * back to pending (the claim's attempt stays counted), or failed once `maxClaims` is reached, so a chunk that crashes or hangs its worker every time cannot loop forever. SKIP LOCKED: a link that
   * another worker is settling right now is not expired work, and two reclaiming workers never wait on each other.
   */
  async reclaimExpired(maxClaims: number): Promise<number> {
    return this.settle(
      `UPDATE mgmt.embed_task_chunk l
       SET status = CASE WHEN attempts >= $1 THEN 'failed' ELSE 'pending' END,
           last_error = CASE WHEN attempts >= $1 THEN 'lease expired ' || attempts || ' times (the chunk crashes or hangs its worker?)' ELSE last_error END,
           lease_owner = NULL, lease_expires_at = NULL
       FROM (SELECT id FROM mgmt.embed_task_chunk
             WHERE status = 'in_progress' AND (lease_expires_at < now() OR lease_expires_at IS NULL)
             FOR UPDATE SKIP LOCKED) expired
       WHERE l.id = expired.id`,
      [maxClaims],
    );
  }

  /** Changes no status, so the counter trigger touches no task row: renewals never wait for one. */
  async renewLeases(owner: string, linkIds: number[], leaseSeconds: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE mgmt.embed_task_chunk SET lease_expires_at = now() + make_interval(secs => $3)
       WHERE id = ANY($2::bigint[]) AND lease_owner = $1 AND status = 'in_progress'`,
      [owner, linkIds, leaseSeconds],
    );
  }

  /**
   * Only links this worker still holds: a link whose lease was lost belongs to whoever took it. The tokens of the
   * links it marks done are added to their tasks in the same transaction (see addTokens).
   */
  async markDone(owner: string, linkIds: number[], tokens?: DoneTokens): Promise<number> {
    if (linkIds.length === 0) return 0;
    return this.settle(
      `UPDATE mgmt.embed_task_chunk
       SET status = 'done', done_at = now(), last_error = NULL, lease_owner = NULL, lease_expires_at = NULL
       WHERE id = ANY($2::bigint[]) AND lease_owner = $1 AND status = 'in_progress'`,
      [owner, linkIds],
      tokens && ((manager, rows) => addTokens(manager, rows, tokens)),
      'id, task_id',
    );
  }

  async markFailed(owner: string, failures: { linkId: number; error: string }[]): Promise<void> {
    if (failures.length === 0) return;
    await this.settle(
      `UPDATE mgmt.embed_task_chunk l
       SET status = 'failed', last_error = f.error, lease_owner = NULL, lease_expires_at = NULL
       FROM unnest($2::bigint[], $3::text[]) AS f(id, error)
       WHERE l.id = f.id AND l.lease_owner = $1 AND l.status = 'in_progress'`,
      [owner, failures.map((f) => f.linkId), failures.map((f) => truncate(f.error))],
    );
  }

  /**
   * Pending again after a backoff. A failure of the chunk's own (`countsAttempt`) keeps the claim's attempt and fails the
   * link when the attempts are used up; a transient one (the dependency was unavailable) gives the attempt back, so
   * an outage of any length fails nothing.
   */
  async retryLater(
    owner: string,
    linkIds: number[],
    error: string,
    delayMs: number,
    maxAttempts: number,
    countsAttempt = true,
  ): Promise<void> {
    if (linkIds.length === 0) return;
    await this.settle(
      `UPDATE mgmt.embed_task_chunk
       SET status = CASE WHEN $6 AND attempts >= $4 THEN 'failed' ELSE 'pending' END,
           attempts = CASE WHEN $6 THEN attempts ELSE greatest(attempts - 1, 0) END,
           last_error = $3, available_at = now() + make_interval(secs => $5),
           lease_owner = NULL, lease_expires_at = NULL
       WHERE id = ANY($2::bigint[]) AND lease_owner = $1 AND status = 'in_progress'`,
      [owner, linkIds, truncate(error), maxAttempts, delayMs / 1000, countsAttempt],
    );
  }

  /** Gives links back untouched (shutdown, cancelled task): pending at once, the attempt not counted. */
  async release(owner: string, linkIds?: number[]): Promise<number> {
    return this.settle(
      `UPDATE mgmt.embed_task_chunk
       SET status = 'pending', attempts = greatest(attempts - 1, 0), lease_owner = NULL, lease_expires_at = NULL
       WHERE lease_owner = $1 AND status = 'in_progress' AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))`,
      [owner, linkIds ?? null],
    );
  }

  /**
   * Runs `deliver` only while the task exists and is not cancelled, holding its delivery gate (see task-gate.ts) until
   * `deliver` ends, so a cancel or delete that answered is never followed by a delivery of the task. Undefined when
   * the task is cancelled or gone. Holds one pooled connection, idle in its transaction, for the delivery's length
   * (SENDER_CONCURRENCY per model, at most half of DATABASE_POOL_SIZE at once; each bounded by the receiver's or the
   * remote's timeout and retries).
   */
  async whileOpen<T>(taskId: number, deliver: () => Promise<T>): Promise<T | undefined> {
    return this.gates.run(() =>
      this.dataSource.transaction(async (manager) => {
        await manager.query(TASK_GATE_SHARED_SQL, [taskId]);
        const open = await manager.query<unknown[]>(`SELECT 1 FROM mgmt.task WHERE id = $1 AND status <> 'cancelled'`, [
          taskId,
        ]);
        return open.length > 0 ? deliver() : undefined;
      }),
    );
  }

  async cancelledTasks(taskIds: number[]): Promise<Set<number>> {
    const rows = await this.dataSource.query<{ id: number }[]>(
      `SELECT id FROM mgmt.task WHERE id = ANY($1::bigint[]) AND status = 'cancelled'`,
      [taskIds],
    );
    return new Set(rows.map((row) => row.id));
  }

  /**
   * The tasks this worker's statements finished since the last call (each reported once, here and nowhere else),
   * with their counts.
   */
  takeFinished(): FinishedTask[] {
    const finished = [...this.finished.values()];
    this.finished.clear();
    return finished;
  }

  /**
   * Runs one link-changing UPDATE in a transaction that also reads the tasks it finished, and does `after` in it
   * (with the links changed: `returning` their task_id, and their id where `after` needs it); a deadlock (a task
   * deleted meanwhile) runs it all again. Returns the number of links changed.
   */
  private async settle(
    update: string,
    params: unknown[],
    after?: AfterSettling,
    returning = 'task_id',
  ): Promise<number> {
    const { count, finished } = await retryOnConflict(() =>
      this.dataSource.transaction(async (manager) => {
        const [rows]: [SettledLink[], number] = await manager.query(`${update} RETURNING ${returning}`, params);
        await after?.(manager, rows);
        const taskIds = [...new Set(rows.map((row) => row.task_id))];
        const done: FinishedTask[] = taskIds.length > 0 ? await manager.query(FINISHED_NOW, [taskIds]) : [];
        return { count: rows.length, finished: done };
      }),
    );
    finished.forEach((task) => this.finished.set(task.id, task));
    return count;
  }
}

/** A link a settling statement changed. */
interface SettledLink {
  id: number;
  task_id: number;
}

/** More work in a settling statement's transaction, with the links it changed. */
type AfterSettling = (manager: EntityManager, links: SettledLink[]) => Promise<void>;

/** What each link that ends done cost and saved, and the model's price per million tokens, when it has one. */
export interface DoneTokens {
  byLink: Map<number, { tokens: number; saved: number }>;
  pricePerMillion?: number;
}

/**
 * Adds the tokens of the links just marked done to their tasks, summed per task: only links the UPDATE really
 * changed count (not one whose lease was lost), in the same transaction, so a crash loses or doubles nothing. The
 * counter trigger of that UPDATE already locked these task rows, in id order, so this takes no new lock. The cost is
 * computed in numeric from the price's decimal text, so it adds up exactly.
 */
async function addTokens(manager: EntityManager, links: SettledLink[], { byLink, pricePerMillion }: DoneTokens) {
  const perTask = new Map<number, { tokens: number; saved: number }>();
  for (const { id, task_id } of links) {
    const counted = byLink.get(Number(id));
    if (!counted) continue;
    const sums = perTask.get(task_id) ?? { tokens: 0, saved: 0 };
    perTask.set(task_id, { tokens: sums.tokens + counted.tokens, saved: sums.saved + counted.saved });
  }
  if (perTask.size === 0) return;
  const tasks = [...perTask.keys()];
  await manager.query(
    `UPDATE mgmt.task t
     SET tokens = t.tokens + u.tokens, saved_tokens = t.saved_tokens + u.saved,
         cost = CASE WHEN $4::numeric IS NULL THEN t.cost ELSE coalesce(t.cost, 0) + u.tokens * $4::numeric / 1000000 END
     FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(id, tokens, saved)
     WHERE t.id = u.id`,
    [
      tasks,
      tasks.map((id) => perTask.get(id)!.tokens),
      tasks.map((id) => perTask.get(id)!.saved),
      pricePerMillion === undefined ? null : String(pricePerMillion),
    ],
  );
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
