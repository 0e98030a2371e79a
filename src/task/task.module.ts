import { Module } from '@nestjs/common';
import { ReceiverModule } from '../receiver/receiver.module';
import { ChunkController } from './chunk.controller';
import { TaskController } from './task.controller';
import { TaskRepository } from './task.repository';
import { TaskService } from './task.service';

@Module({
  imports: [ReceiverModule],
  controllers: [TaskController, ChunkController],
  providers: [TaskService, TaskRepository],
})
export class TaskModule {}
