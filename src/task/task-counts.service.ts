import { Injectable, Logger } from '@nestjs/common';
import { TaskCountCheckDto, TaskCountsDto } from './task.dto';
import { CountDriftRow, TaskRepository } from './task.repository';
import { TallyDriftRow, TaskTallyRepository } from './task-tally.repository';

/**
 * The check that the per-task counters match the links they count. The triggers keep them exact; this is how an
 * operator proves it (or finds what a disabled trigger or a hand-edited counter broke), and repairs it.
 */
@Injectable()
export class TaskCountsService {
  private readonly logger = new Logger('TaskCounts');

  constructor(
    private readonly repository: TaskRepository,
    private readonly tally: TaskTallyRepository,
  ) {}

  async check(taskId?: number): Promise<TaskCountCheckDto> {
    const { checked, drifted } = await this.repository.findCountDrift(taskId);
    const tallyDrifted = taskId === undefined ? await this.tally.findDrift() : [];
    return { checked, drifted: drifted.map(toDrift), tallyDrifted: tallyDrifted.map(toTallyDrift), repaired: 0 };
  }

  /**
   * Recounts the tasks that drifted, under their row locks, so the repair is exact even while work goes on; then
   * rebuilds the closed-task tally if it differs from the task rows.
   */
  async repair(taskId?: number): Promise<TaskCountCheckDto> {
    const { checked, drifted } = await this.repository.findCountDrift(taskId);
    await this.repository.repairCounts(drifted.map((row) => row.id));
    if (drifted.length > 0) {
      this.logger.warn({
        msg: `repaired the counters of ${drifted.length} tasks`,
        taskIds: drifted.map((row) => row.id),
      });
    }
    const tallyDrifted = taskId === undefined ? await this.tally.findDrift() : [];
    if (tallyDrifted.length > 0) {
      await this.tally.rebuild();
      this.logger.warn({ msg: 'rebuilt the closed-task tally', statuses: tallyDrifted.map((row) => row.status) });
    }
    return {
      checked,
      drifted: drifted.map(toDrift),
      tallyDrifted: tallyDrifted.map(toTallyDrift),
      repaired: drifted.length + (tallyDrifted.length > 0 ? 1 : 0),
    };
  }
}

function toTallyDrift(row: TallyDriftRow) {
  const totals = ([tasks, ...counts]: number[]) => ({ tasks: Number(tasks), ...toCounts(counts) });
  return { status: row.status, stored: totals(row.stored), counted: totals(row.counted) };
}

function toCounts([pending, inProgress, done, failed]: number[]): TaskCountsDto {
  return { pending: Number(pending), inProgress: Number(inProgress), done: Number(done), failed: Number(failed) };
}

function toDrift(row: CountDriftRow) {
  return { taskId: row.id, stored: toCounts(row.stored), counted: toCounts(row.counted) };
}
