import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export const QUEUE_STATUSES = ['pending', 'in_progress', 'done', 'failed'] as const;
export type QueueStatus = (typeof QUEUE_STATUSES)[number];

export type QueueDepth = Record<QueueStatus, number> & {
  /** Whether `done` is the estimate (table size minus the exact counts) rather than a count. */
  doneEstimated: boolean;
};

/** Below this heap size `done` is counted: a scan of a few MiB costs less than an estimate is worth. */
export const EXACT_DONE_BELOW_BYTES = 16 * 1024 * 1024;

/**
 * The exact counts and the table's size and statistics. Each WHERE repeats a partial index's predicate exactly, so
 * the planner counts from that index alone.
 */
export const COUNTS_SQL = `
  SELECT (SELECT count(*) FROM mgmt.embed_task_chunk WHERE status = 'pending') AS pending,
         (SELECT count(*) FROM mgmt.embed_task_chunk WHERE status = 'in_progress') AS in_progress,
         (SELECT count(*) FROM mgmt.embed_task_chunk WHERE status = 'failed') AS failed,
         c.reltuples::float8 AS reltuples, c.relpages AS relpages,
         pg_relation_size(c.oid) AS bytes, current_setting('block_size')::int AS block_size
  FROM pg_class c WHERE c.oid = 'mgmt.embed_task_chunk'::regclass`;

/**
 * Task links by status for GET /metrics, read on every scrape, so it must stay cheap on a table of millions of
 * rows. pending, in_progress and failed are exact: each is a count over its own partial index
 * (embed_task_chunk_pending_idx, _lease_idx, _failed_idx), as small as the status is rare. done, the bulk of the
 * table, is the planner's own estimate of the table's rows (reltuples / relpages from the last ANALYZE, times the
 * table's pages now) minus the exact counts; it is counted instead while the table is small or never analysed.
 */
@Injectable()
export class QueueDepthRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async depth(exactDoneBelowBytes = EXACT_DONE_BELOW_BYTES): Promise<QueueDepth> {
    const [row] = await this.dataSource.query(COUNTS_SQL);
    const [pending, inProgress, failed, reltuples, relpages, bytes, blockSize] = [
      row.pending,
      row.in_progress,
      row.failed,
      row.reltuples,
      row.relpages,
      row.bytes,
      row.block_size,
    ].map(Number);
    const open = { pending, in_progress: inProgress, failed };
    // reltuples is -1 until the first ANALYZE; relpages 0 leaves no density to scale by.
    if (bytes < exactDoneBelowBytes || reltuples < 0 || relpages === 0) {
      return { ...open, done: await this.countDone(), doneEstimated: false };
    }
    const rows = (reltuples / relpages) * (bytes / blockSize);
    return { ...open, done: Math.max(0, Math.round(rows - pending - inProgress - failed)), doneEstimated: true };
  }

  private async countDone(): Promise<number> {
    const [row] = await this.dataSource.query(
      `SELECT count(*) AS done FROM mgmt.embed_task_chunk WHERE status = 'done'`,
    );
    return Number(row.done);
  }
}
