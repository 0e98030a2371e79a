import type { Task } from './api-client';

/** `42s`, `3m 05s`, `2h 03m`: short enough for a progress line. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) return `${total}s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes}m ${pad(total % 60)}s`;
  return `${Math.floor(minutes / 60)}h ${pad(minutes % 60)}m`;
}

export function formatRate(chunksPerSecond: number | null): string {
  if (chunksPerSecond === null) return '-- chunks/s';
  return `${chunksPerSecond >= 100 ? Math.round(chunksPerSecond) : chunksPerSecond.toFixed(1)} chunks/s`;
}

export function formatEta(task: Task): string {
  return task.progress.etaSeconds === null ? 'ETA --' : `ETA ${formatDuration(task.progress.etaSeconds)}`;
}

/** `300 done, 2 failed of 302`, the counts every summary leads with. */
export function formatCounts(task: Task): string {
  const { done, failed, total } = task.progress;
  return `${done} done, ${failed} failed of ${total}`;
}

/** `12,345 tokens (1,200 saved), cost 0.0062`: what a task's done chunks cost; '' when nothing was counted. */
export function formatUsage(task: Task): string {
  const { tokens, savedTokens, cost } = task.usage;
  if (tokens === 0 && savedTokens === 0) return '';
  const saved = savedTokens > 0 ? ` (${savedTokens.toLocaleString('en-US')} saved)` : '';
  const priced = cost === null ? '' : `, cost ${Number(cost.toPrecision(6))}`;
  return `${tokens.toLocaleString('en-US')} tokens${saved}${priced}`;
}

/** Seconds from start to finish (or to now for a task still going), when the server recorded a start. */
export function elapsedSeconds(task: Task, now = Date.now()): number | undefined {
  if (!task.startedAt) return undefined;
  const end = task.finishedAt ? Date.parse(task.finishedAt) : now;
  return (end - Date.parse(task.startedAt)) / 1000;
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const pad = (value: number) => String(value).padStart(2, '0');
