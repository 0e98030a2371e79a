import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export const QUEUE_STATUSES = ['pending', 'in_progress', 'done', 'failed'] as const;
export type QueueStatus = (typeof QUEUE_STATUSES)[number];

export type QueueDepth = Record<QueueStatus, number>;

/**
 * Task links by status, summed from the per-task counters: one row per task, never one per link, and exact (the
 * triggers keep the counters in the same transaction as the links). Every replica reports the same numbers.
 */
export const DEPTH_SQL = `
  SELECT coalesce(sum(pending), 0)::bigint AS pending, coalesce(sum(in_progress), 0)::bigint AS in_progress,
         coalesce(sum(done), 0)::bigint AS done, coalesce(sum(failed), 0)::bigint AS failed
  FROM mgmt.task`;

/**
 * The backlog a worker autoscaler waits on (KEDA's postgresql trigger, issue 12): links pending or in progress in
 * open tasks of the given models. Open tasks come from task_open_idx, so it reads one row per open task however
 * many tasks have finished; cancelled tasks' leftovers are not work. The manifests use the same text with the
 * models written in (see README, "100 million links").
 */
export const BACKLOG_SQL = `
  SELECT coalesce(sum(pending + in_progress), 0)::bigint AS backlog
  FROM mgmt.task WHERE status IN ('pending', 'running') AND model = ANY($1::text[])`;

/** Read on every scrape of GET /metrics, and by whatever scales the workers. */
@Injectable()
export class QueueDepthRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async depth(): Promise<QueueDepth> {
    const [row] = await this.dataSource.query(DEPTH_SQL);
    return { pending: row.pending, in_progress: row.in_progress, done: row.done, failed: row.failed };
  }

  async backlog(models: string[]): Promise<number> {
    const [row] = await this.dataSource.query(BACKLOG_SQL, [models]);
    return row.backlog;
  }
}
