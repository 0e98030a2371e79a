import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** A worker counts as gone after this many missed beats (its row's expires_at). */
export const BEATS_TO_EXPIRY = 3;

/**
 * Open tasks whose model no live worker lists. Open tasks come from task_open_idx (a partial index, so finished
 * tasks cost nothing however many pile up); the worker table has one row per worker, read whole.
 */
export const TASKS_WITHOUT_WORKER_SQL = `
  SELECT count(*)::int AS tasks FROM mgmt.task t
  WHERE t.status IN ('pending', 'running')
    AND NOT EXISTS (SELECT 1 FROM mgmt.worker w WHERE w.expires_at > now() AND t.model = ANY (w.models))`;

/** The heartbeat rows of the workers (mgmt.worker): who serves which model right now. */
@Injectable()
export class WorkerRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Writes this worker's row with an expiry BEATS_TO_EXPIRY beats ahead, and sweeps rows of workers that died
   * (expired ones), so the table stays one row per live worker.
   */
  async beat(id: string, models: string[], intervalMs: number): Promise<void> {
    await this.dataSource.query(
      `WITH swept AS (DELETE FROM mgmt.worker WHERE expires_at <= now() AND id <> $1)
       INSERT INTO mgmt.worker (id, models, heartbeat_at, expires_at)
       VALUES ($1, $2::text[], now(), now() + make_interval(secs => $3))
       ON CONFLICT (id) DO UPDATE
       SET models = EXCLUDED.models, heartbeat_at = EXCLUDED.heartbeat_at, expires_at = EXCLUDED.expires_at`,
      [id, models, (BEATS_TO_EXPIRY * intervalMs) / 1000],
    );
  }

  /** On a clean shutdown: the worker is gone now, not when its row expires. */
  async remove(id: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM mgmt.worker WHERE id = $1`, [id]);
  }

  /** Every model some live worker serves. */
  async liveModels(): Promise<Set<string>> {
    const rows = await this.dataSource.query<{ model: string }[]>(
      `SELECT DISTINCT unnest(models) AS model FROM mgmt.worker WHERE expires_at > now()`,
    );
    return new Set(rows.map((row) => row.model));
  }

  /** For the metric: open tasks that no live worker can work on. */
  async countTasksWithoutWorker(): Promise<number> {
    const [row] = await this.dataSource.query<{ tasks: number }[]>(TASKS_WITHOUT_WORKER_SQL);
    return row.tasks;
  }
}
