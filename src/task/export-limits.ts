import { Injectable } from '@nestjs/common';
import { Slots } from '../common/slots';
import { AppConfig } from '../config/app-config';
import { TaskError, TaskErrorCode } from './task.errors';

/** An admitted export: its lines, how long its client may read nothing, and the slot to give back once sent. */
export interface TaskExport {
  lines: AsyncIterable<Buffer>;
  idleTimeoutMs: number;
  release: () => void;
}

/** What a client beyond TASK_EXPORT_MAX_CONCURRENT is told to wait before it asks again (Retry-After, seconds). */
export const EXPORT_RETRY_AFTER_S = 5;

/**
 * The budget of GET /tasks/:id/embeddings (docs/exports.md, "Exports and the pool budget"): how many exports stream at
 * once, and how many pooled connections their page reads take together. An export holds a connection only while it
 * reads one page, never while its client reads, so a slow or stalled client costs a slot here and nothing in the pool.
 */
@Injectable()
export class ExportLimits {
  private running = 0;
  /** Page reads of every export together: the rest of the pool stays with the task, receiver and sender work. */
  readonly reads: Slots;

  constructor(private readonly config: AppConfig) {
    this.reads = new Slots(config.tasks.export.maxConnections);
  }

  get idleTimeoutMs(): number {
    return this.config.tasks.export.idleTimeoutMs;
  }

  /** Takes an export slot, or refuses (429) when every one is taken; the caller calls the answer once, when done. */
  admit(): () => void {
    const limit = this.config.tasks.export.maxConcurrent;
    if (this.running >= limit) {
      throw new TaskError(
        TaskErrorCode.TooManyExports,
        `${limit} exports are already streaming (TASK_EXPORT_MAX_CONCURRENT); try again later`,
        EXPORT_RETRY_AFTER_S,
      );
    }
    this.running++;
    let released = false;
    return () => {
      if (!released) this.running--;
      released = true;
    };
  }
}
