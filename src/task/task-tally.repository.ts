import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TASK_STATUSES, TaskStatus } from './task-status';

/** How many tasks are in a status, and their links by status. */
export interface StatusTotals {
  tasks: number;
  pending: number;
  in_progress: number;
  done: number;
  failed: number;
}

/** A status whose tally differs from its closed tasks: [tasks, pending, in_progress, done, failed] each. */
export interface TallyDriftRow {
  status: TaskStatus;
  stored: number[];
  counted: number[];
}

const CLOSED = `status IN ('completed', 'failed', 'cancelled')`;
const ZEROS = `ARRAY[0, 0, 0, 0, 0]::bigint[]`;

/** Fold the tally's delta rows together once there are more than this. */
export const COMPACT_TALLY_ABOVE = 64;

/**
 * One row per status: open tasks summed from their partial index (task_open_idx: as few rows as tasks are open), the
 * closed ones from the tally of delta rows that the trigger on mgmt.task appends. Nothing here reads a row per
 * closed task, however many years of them there are.
 */
export const TOTALS_SQL = `
  SELECT status, count(*)::bigint AS tasks, sum(pending)::bigint AS pending, sum(in_progress)::bigint AS in_progress,
         sum(done)::bigint AS done, sum(failed)::bigint AS failed, 0::bigint AS tally_rows
  FROM mgmt.task WHERE status IN ('pending', 'running') GROUP BY status
  UNION ALL
  SELECT status, sum(tasks)::bigint, sum(pending)::bigint, sum(in_progress)::bigint, sum(done)::bigint,
         sum(failed)::bigint, count(*)::bigint
  FROM mgmt.task_tally GROUP BY status`;

/**
 * Replaces the rows it can see by their sums, in one statement. Rows appended meanwhile by transactions not yet
 * committed are not seen, so not deleted: they count after it as before. Two compactions at once: the second waits
 * for the first's deletions and skips those rows.
 */
const COMPACT_SQL = `
  WITH gone AS (DELETE FROM mgmt.task_tally RETURNING status, tasks, pending, in_progress, done, failed)
  INSERT INTO mgmt.task_tally (status, tasks, pending, in_progress, done, failed)
  SELECT status, sum(tasks), sum(pending), sum(in_progress), sum(done), sum(failed) FROM gone GROUP BY status
  HAVING sum(tasks) <> 0 OR sum(pending) <> 0 OR sum(in_progress) <> 0 OR sum(done) <> 0 OR sum(failed) <> 0`;

/** Totals by task status for the task list and GET /metrics: exact, and as cheap with 20,000 closed tasks as with 2. */
@Injectable()
export class TaskTallyRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async totals(): Promise<Record<TaskStatus, StatusTotals>> {
    const rows: (StatusTotals & { status: TaskStatus; tally_rows: number })[] = await this.dataSource.query(TOTALS_SQL);
    if (rows.reduce((sum, row) => sum + row.tally_rows, 0) > COMPACT_TALLY_ABOVE) await this.compact();
    const zero = { tasks: 0, pending: 0, in_progress: 0, done: 0, failed: 0 };
    const totals = Object.fromEntries(TASK_STATUSES.map((status) => [status, { ...zero }])) as Record<
      TaskStatus,
      StatusTotals
    >;
    for (const { status, tally_rows: _, ...row } of rows) totals[status] = row;
    return totals;
  }

  async compact(): Promise<void> {
    await this.dataSource.query(COMPACT_SQL);
  }

  /**
   * The tally's sums against a count of the closed task rows, by status; one statement, so one snapshot. Answers
   * the statuses that differ.
   */
  async findDrift(): Promise<TallyDriftRow[]> {
    return this.dataSource.query(
      `WITH stored AS (SELECT status, ARRAY[sum(tasks), sum(pending), sum(in_progress), sum(done), sum(failed)]::bigint[] AS v
                       FROM mgmt.task_tally GROUP BY status),
            counted AS (SELECT status, ARRAY[count(*), sum(pending), sum(in_progress), sum(done), sum(failed)]::bigint[] AS v
                        FROM mgmt.task WHERE ${CLOSED} GROUP BY status)
       SELECT coalesce(s.status, c.status) AS status, coalesce(s.v, ${ZEROS}) AS stored, coalesce(c.v, ${ZEROS}) AS counted
       FROM stored s FULL JOIN counted c ON c.status = s.status
       WHERE coalesce(s.v, ${ZEROS}) <> coalesce(c.v, ${ZEROS})
       ORDER BY 1`,
    );
  }

  /**
   * Replaces the tally by a count of the closed task rows. The table lock waits for every transaction that appended
   * a delta row and holds off new ones until commit, so the count and the tally agree exactly afterwards.
   */
  async rebuild(): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.query(`LOCK TABLE mgmt.task_tally IN EXCLUSIVE MODE`);
      await manager.query(`DELETE FROM mgmt.task_tally`);
      await manager.query(
        `INSERT INTO mgmt.task_tally (status, tasks, pending, in_progress, done, failed)
         SELECT status, count(*), sum(pending), sum(in_progress), sum(done), sum(failed) FROM mgmt.task
         WHERE ${CLOSED} GROUP BY status`,
      );
    });
  }
}
