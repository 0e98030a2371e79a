import { Module } from '@nestjs/common';
import { ReceiverModule } from '../receiver/receiver.module';
import { ChunkController } from './chunk.controller';
import { TaskCountsController } from './task-counts.controller';
import { TaskCountsService } from './task-counts.service';
import { TaskController } from './task.controller';
import { TaskRepository } from './task.repository';
import { TaskService } from './task.service';
import { TaskTallyRepository } from './task-tally.repository';

@Module({
  imports: [ReceiverModule],
  controllers: [TaskCountsController, TaskController, ChunkController],
  providers: [TaskService, TaskCountsService, TaskRepository, TaskTallyRepository],
  exports: [TaskService, TaskRepository, TaskTallyRepository],
})
export class TaskModule {}
