import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { EmbeddingModule } from '../embedding/embedding.module';
import { BatchProcessor } from './batch-processor';
import { SenderRepository } from './sender.repository';
import { SenderService } from './sender.service';

@Module({
  imports: [ScheduleModule.forRoot(), EmbeddingModule],
  providers: [SenderRepository, BatchProcessor, SenderService],
})
export class SenderModule {}
