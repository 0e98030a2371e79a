import { Client } from 'pg';
import { sleep } from '../../src/common/backoff';

export interface FedTask {
  taskId: number;
  /** The database clock (epoch seconds) read as the insert's last statement, just before COMMIT. */
  committedAt: number;
  /** performance.now() once COMMIT returned, for the wall-clock cross-check. */
  committedPerf: number;
}

export interface FinishedTask {
  status: string;
  /** Epoch seconds of mgmt.task.finished_at (set by the statement that finished the task). */
  finishedAt: number;
  /** Epoch seconds of mgmt.task.started_at: the start of the claim statement that first took its links. */
  startedAt: number;
  /** performance.now() when the poll first saw the task finished. */
  seenPerf: number;
  done: number;
  failed: number;
}

/** How often the finish poll looks: one indexed row read, cheap next to the work it waits for. */
const POLL_MS = 10;

/**
 * Work fed the way existing systems do it (README, "Feeding work"): a task, its chunks and its links in one SQL
 * transaction, on a connection of its own; the task's end is read from its row. Start and end both come from the
 * database's clock, so polling granularity does not enter the measured time.
 */
export class SqlFeed {
  private constructor(private readonly client: Client) {}

  static async connect(url: string): Promise<SqlFeed> {
    const client = new Client({ connectionString: url, application_name: 'bench-pipeline-feed' });
    await client.connect();
    return new SqlFeed(client);
  }

  async close(): Promise<void> {
    await this.client.end();
  }

  async insertTask(name: string, model: string, texts: string[]): Promise<FedTask> {
    const { client } = this;
    await client.query('BEGIN');
    try {
      const task = await client.query(`INSERT INTO mgmt.task (name, model) VALUES ($1, $2) RETURNING id`, [
        name,
        model,
      ]);
      const taskId = Number(task.rows[0].id);
      await client.query(
        `WITH c AS (INSERT INTO mgmt.embed_chunk (text) SELECT unnest($2::text[]) RETURNING id)
         INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) SELECT $1, id FROM c`,
        [taskId, texts],
      );
      // Read before COMMIT: the sender cannot see the rows before it, so the measured time can only be longer.
      const clock = await client.query(`SELECT extract(epoch FROM clock_timestamp())::float8 AS at`);
      await client.query('COMMIT');
      return { taskId, committedAt: clock.rows[0].at, committedPerf: performance.now() };
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  }

  async waitFinished(taskId: number, timeoutMs: number): Promise<FinishedTask> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const { rows } = await this.client.query(
        `SELECT status, extract(epoch FROM finished_at)::float8 AS finished_at,
                extract(epoch FROM started_at)::float8 AS started_at
         FROM mgmt.task WHERE id = $1`,
        [taskId],
      );
      if (rows[0]?.finished_at != null) {
        const seenPerf = performance.now();
        const { status, finished_at: finishedAt, started_at: startedAt } = rows[0];
        return { status, finishedAt, startedAt, seenPerf, ...(await this.counts(taskId)) };
      }
      await sleep(POLL_MS);
    }
    throw new Error(`task ${taskId} did not finish within ${timeoutMs / 1000} s`);
  }

  /** Stored vectors of the model for the task's chunks: every chunk must have exactly one. */
  async storedVectors(taskId: number, model: string): Promise<number> {
    const { rows } = await this.client.query(
      `SELECT count(*)::int AS n FROM mgmt.embed_task_chunk l
       JOIN mgmt.embedding e ON e.chunk_id = l.chunk_id AND e.model = $2 WHERE l.task_id = $1`,
      [taskId, model],
    );
    return rows[0].n;
  }

  private async counts(taskId: number): Promise<{ done: number; failed: number }> {
    const { rows } = await this.client.query(
      `SELECT count(*) FILTER (WHERE status = 'done')::int AS done, count(*) FILTER (WHERE status = 'failed')::int AS failed
       FROM mgmt.embed_task_chunk WHERE task_id = $1`,
      [taskId],
    );
    return rows[0];
  }
}
