import { TaskProgressDto } from './task.dto';
import { TaskStatus } from './task-status';

export interface ProgressCounts {
  status: TaskStatus;
  total: number;
  pending: number;
  in_progress: number;
  done: number;
  failed: number;
  created_at: Date;
  started_at: Date | null;
  last_done_at: Date | null;
}

/**
 * Progress from the link counts. The rate is chunks done over the time from the task's start (or creation,
 * for tasks whose start was never recorded) to the latest chunk done; the ETA needs at least one chunk done and
 * an open task with chunks left: a finished (or cancelled) task has none, rather than one that moves on every read.
 */
export function toProgress(counts: ProgressCounts, now = new Date()): TaskProgressDto {
  const settled = counts.done + counts.failed;
  const percent = counts.total === 0 ? 0 : Math.round((settled / counts.total) * 10000) / 100;
  const rate = chunksPerSecond(counts);
  const remaining = counts.pending + counts.in_progress;
  const open = counts.status === 'pending' || counts.status === 'running';
  const etaSeconds = rate && open && remaining > 0 ? Math.round((remaining / rate) * 10) / 10 : null;
  return {
    total: counts.total,
    pending: counts.pending,
    inProgress: counts.in_progress,
    done: counts.done,
    failed: counts.failed,
    percent,
    chunksPerSecond: rate === null ? null : Math.round(rate * 100) / 100,
    etaSeconds,
    estimatedCompletionAt: etaSeconds === null ? null : new Date(now.getTime() + etaSeconds * 1000).toISOString(),
  };
}

function chunksPerSecond(counts: ProgressCounts): number | null {
  if (counts.done === 0 || !counts.last_done_at) return null;
  const start = new Date(counts.started_at ?? counts.created_at).getTime();
  const seconds = (new Date(counts.last_done_at).getTime() - start) / 1000;
  return seconds > 0 ? counts.done / seconds : null;
}
