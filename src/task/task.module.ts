import { Module } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { ChunkController } from './chunk.controller';
import { ExportLimits } from './export-limits';
import { QueueDepthRepository } from './queue-depth.repository';
import { TaskCountsController } from './task-counts.controller';
import { TaskCountsService } from './task-counts.service';
import { TaskController } from './task.controller';
import { TaskRepository } from './task.repository';
import { TaskService } from './task.service';
import { TaskTallyRepository } from './task-tally.repository';
import { WorkerRepository } from './worker.repository';

@Module({
  controllers: [TaskCountsController, TaskController, ChunkController],
  providers: [
    ExportLimits,
    TaskService,
    TaskCountsService,
    TaskRepository,
    TaskTallyRepository,
    QueueDepthRepository,
    WorkerRepository,
  ],
  exports: [TaskService, TaskRepository, TaskTallyRepository, WorkerRepository],
})
export class TaskModule {
  /** The queue_depth gauge reads the task tables, which this feature owns; metrics, below it, cannot name them. */
  constructor(metrics: MetricsService, queue: QueueDepthRepository, workers: WorkerRepository) {
    metrics.readQueueDepthWith(() => queue.depth());
    metrics.readTasksWithoutWorkerWith(() => workers.countTasksWithoutWorker());
  }
}
