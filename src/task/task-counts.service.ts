import { Injectable, Logger } from '@nestjs/common';
import { TaskCountCheckDto, TaskCountsDto } from './task.dto';
import { CountDriftRow, TaskRepository } from './task.repository';

/**
 * The check that the per-task counters match the links they count. The triggers keep them exact; this is how an
 * operator proves it (or finds what a disabled trigger or a hand-edited counter broke), and repairs it.
 */
@Injectable()
export class TaskCountsService {
  private readonly logger = new Logger('TaskCounts');

  constructor(private readonly repository: TaskRepository) {}

  async check(taskId?: number): Promise<TaskCountCheckDto> {
    const { checked, drifted } = await this.repository.findCountDrift(taskId);
    return { checked, drifted: drifted.map(toDrift), repaired: 0 };
  }

  /** Recounts the tasks that drifted, under their row locks, so the repair is exact even while work goes on. */
  async repair(taskId?: number): Promise<TaskCountCheckDto> {
    const { checked, drifted } = await this.repository.findCountDrift(taskId);
    await this.repository.repairCounts(drifted.map((row) => row.id));
    if (drifted.length > 0) {
      this.logger.warn({ msg: `repaired the counters of ${drifted.length} tasks`, taskIds: drifted.map((row) => row.id) });
    }
    return { checked, drifted: drifted.map(toDrift), repaired: drifted.length };
  }
}

function toCounts([pending, inProgress, done, failed]: number[]): TaskCountsDto {
  return { pending: Number(pending), inProgress: Number(inProgress), done: Number(done), failed: Number(failed) };
}

function toDrift(row: CountDriftRow) {
  return { taskId: row.id, stored: toCounts(row.stored), counted: toCounts(row.counted) };
}
