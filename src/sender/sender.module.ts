import { Module } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { AppConfig } from '../config/app-config';
import { DeliveryModule } from '../delivery/delivery.module';
import { EmbeddingModule } from '../embedding/embedding.module';
import { BatchRunner } from './batch-runner';
import { BatchWorker } from './batch-worker';
import { DependencyBreakers } from './dependency-breakers';
import { LocalBatchWorker } from './local-batch-worker';
import { RemoteBatchWorker } from './remote-batch-worker';
import { SenderRepository } from './sender.repository';
import { SenderService } from './sender.service';
import { TaskModule } from '../task/task.module';
import { WorkerHeartbeat } from './worker-heartbeat';

/** The worker of SENDER_MODE behind the BatchWorker token; only the chosen one is built. */
export function createBatchWorker(config: AppConfig, refs: ModuleRef): Promise<BatchWorker> {
  return refs.create<BatchWorker>(config.sender.mode === 'remote' ? RemoteBatchWorker : LocalBatchWorker);
}

@Module({
  imports: [ScheduleModule.forRoot(), EmbeddingModule, DeliveryModule, TaskModule],
  providers: [
    SenderRepository,
    BatchRunner,
    { provide: BatchWorker, inject: [AppConfig, ModuleRef], useFactory: createBatchWorker },
    SenderService,
    DependencyBreakers,
    WorkerHeartbeat,
  ],
  exports: [DependencyBreakers],
})
export class SenderModule {}
