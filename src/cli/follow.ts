import { sleep as pause } from '../common/backoff';
import { FINISHED_TASK_STATUSES } from '../task/task-status';
import { ApiClient, Task, UnreachableError } from './api-client';
import { ApiError, EXIT } from './errors';
import { elapsedSeconds, formatCounts, formatDuration, formatUsage } from './format';
import { ProgressRenderer } from './progress';

export interface FollowOptions {
  intervalMs: number;
  renderer: ProgressRenderer;
  /** How long the server may stay unreachable (restart, deploy) before following gives up. */
  outageLimitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Polls GET /tasks/:id and renders its progress until the task is completed, failed or cancelled. */
export async function followTask(client: ApiClient, id: number, options: FollowOptions): Promise<Task> {
  const { renderer, intervalMs, outageLimitMs = 60_000, sleep = pause } = options;
  let failingSince: number | undefined;
  try {
    for (;;) {
      let task: Task | undefined;
      try {
        task = await client.getTask(id);
        failingSince = undefined;
      } catch (error) {
        if (!isTransient(error)) throw error;
        failingSince ??= Date.now();
        if (Date.now() - failingSince > outageLimitMs) throw error;
        renderer.note(`${(error as Error).message} (retrying)`);
      }
      if (task) renderer.update(task);
      if (task && FINISHED_TASK_STATUSES.includes(task.status)) return task;
      await sleep(intervalMs);
    }
  } finally {
    renderer.close();
  }
}

/** 0 for a completed task, else the code that says how it ended. */
export function exitCodeFor(task: Task): number {
  if (task.status === 'completed') return EXIT.ok;
  if (task.status === 'cancelled') return EXIT.taskCancelled;
  return EXIT.taskFailed;
}

/** The closing line: how the task ended, its counts and time, and for failures where to look next. */
export async function outcomeMessage(client: ApiClient, task: Task): Promise<string> {
  const elapsed = elapsedSeconds(task);
  const took = elapsed === undefined ? '' : ` in ${formatDuration(elapsed)}`;
  const usage = formatUsage(task);
  const summary = `task ${task.id} ${task.status}: ${formatCounts(task)}${took}${usage ? `; ${usage}` : ''}`;
  if (task.status !== 'failed') return summary;
  const failed = await client.listTaskChunks(task.id, { status: 'failed', limit: 1, offset: 0 }).catch(() => undefined);
  const first = failed?.items[0];
  const cause = first ? `\n  first failure: chunk ${first.chunkId}: ${first.lastError ?? 'no error recorded'}` : '';
  return `${summary}${cause}\n  embedding-tasks retry ${task.id} puts the failed chunks back to pending`;
}

function isTransient(error: unknown): boolean {
  return error instanceof UnreachableError || (error instanceof ApiError && [502, 503, 504].includes(error.status));
}
