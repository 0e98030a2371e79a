import { FINISHED_TASK_STATUSES } from '../task/task-status';
import type { Task } from './api-client';
import { formatCounts, formatEta, formatRate } from './format';

export const BAR_WIDTH = 30;
/** The bar is drawn on terminals at least this wide, the rest of the line getting the other 70 columns. */
const BAR_COLUMNS = BAR_WIDTH + 70;

/**
 * One line: `task 12 running [=====>     ]  45.3%  453 done, 2 failed of 1000  123 chunks/s  ETA 4s`. The bar has
 * one width whatever the text after it says (it is left out on a terminal narrower than BAR_COLUMNS, decided by
 * the terminal alone), so it does not jump as the counts grow; the whole is cut to `columns`.
 */
export function progressLine(task: Task, columns = 100): string {
  const head = `task ${task.id} ${task.status}`;
  const eta = FINISHED_TASK_STATUSES.includes(task.status) ? '' : `  ${task.waiting ?? formatEta(task)}`;
  const tail = `${task.progress.percent.toFixed(1).padStart(5)}%  ${formatCounts(task)}  ${formatRate(task.progress.chunksPerSecond)}${eta}`;
  const line =
    columns >= BAR_COLUMNS ? `${head} ${bar(task.progress.percent, BAR_WIDTH)}  ${tail}` : `${head}  ${tail}`;
  return line.slice(0, Math.max(columns - 1, 1));
}

export function bar(percent: number, width: number): string {
  const filled = Math.min(width, Math.floor((Math.max(0, percent) / 100) * width));
  const arrow = filled < width && filled > 0 ? '>' : '';
  return `[${'='.repeat(filled - (arrow ? 1 : 0))}${arrow}${' '.repeat(width - filled)}]`;
}

export interface ProgressRenderer {
  update(task: Task): void;
  /** A passing remark (e.g. connection lost) shown without losing the progress line. */
  note(message: string): void;
  /** Ends the progress output so that what follows starts on a line of its own. */
  close(): void;
}

/** On a terminal: one line redrawn in place with `\r`. */
export class TtyProgress implements ProgressRenderer {
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  update(task: Task): void {
    this.draw(progressLine(task, this.out.columns || 100));
  }

  note(message: string): void {
    this.draw(message.slice(0, (this.out.columns || 100) - 1));
  }

  close(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }

  private draw(line: string): void {
    this.out.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }
}

/** Into a file or pipe: a plain line when the status changes and at most every `everyMs` otherwise. */
export class PlainProgress implements ProgressRenderer {
  private lastAt = 0;
  private lastStatus?: string;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly everyMs = 5000,
    private readonly now = () => Date.now(),
  ) {}

  update(task: Task): void {
    if (task.status === this.lastStatus && this.now() - this.lastAt < this.everyMs) return;
    this.lastAt = this.now();
    this.lastStatus = task.status;
    this.out.write(`${progressLine(task, 200)}\n`);
  }

  note(message: string): void {
    this.out.write(`${message}\n`);
  }

  close(): void {}
}

export function progressRenderer(out: NodeJS.WriteStream): ProgressRenderer {
  return out.isTTY ? new TtyProgress(out) : new PlainProgress(out);
}
