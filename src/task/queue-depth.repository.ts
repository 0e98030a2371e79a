import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TaskTallyRepository } from './task-tally.repository';

export const QUEUE_STATUSES = ['pending', 'in_progress', 'done', 'failed'] as const;
export type QueueStatus = (typeof QUEUE_STATUSES)[number];

export type QueueDepth = Record<QueueStatus, number>;

/**
 * The backlog a worker autoscaler waits on (KEDA's postgresql trigger, issue 12): links pending or in progress in
 * open tasks of the given models. Open tasks come from task_open_idx, so it reads one row per open task however
 * many tasks have finished; cancelled tasks' leftovers are not work. The manifests use the same text with the
 * models written in (see docs/scaling.md).
 */
export const BACKLOG_SQL = `
  SELECT coalesce(sum(pending + in_progress), 0)::bigint AS backlog
  FROM mgmt.task WHERE status IN ('pending', 'running') AND model = ANY($1::text[])`;

/** Read on every scrape of GET /metrics, and by whatever scales the workers. */
@Injectable()
export class QueueDepthRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tally: TaskTallyRepository,
  ) {}

  /**
   * Task links by status over all tasks: the per-task counters summed by task status (open tasks from their index,
   * closed ones from the tally), so exact and one row per open task, never one per link or per closed task.
   */
  async depth(): Promise<QueueDepth> {
    const depth: QueueDepth = { pending: 0, in_progress: 0, done: 0, failed: 0 };
    for (const totals of Object.values(await this.tally.totals())) {
      QUEUE_STATUSES.forEach((status) => (depth[status] += totals[status]));
    }
    return depth;
  }

  async backlog(models: string[]): Promise<number> {
    const [row] = await this.dataSource.query<{ backlog: number }[]>(BACKLOG_SQL, [models]);
    return row.backlog;
  }
}
