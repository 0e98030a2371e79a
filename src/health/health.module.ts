import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DeliveryModule } from '../delivery/delivery.module';
import { EmbeddingModule } from '../embedding/embedding.module';
import { SenderModule } from '../sender/sender.module';
import { EmbeddingHealthIndicator } from './embedding.health';
import { ReceiverHealthIndicator } from './receiver.health';
import { DatabaseHealthIndicator } from './database.health';
import { DependenciesHealthIndicator } from './dependencies.health';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule, EmbeddingModule, DeliveryModule, SenderModule],
  controllers: [HealthController],
  providers: [DatabaseHealthIndicator, EmbeddingHealthIndicator, ReceiverHealthIndicator, DependenciesHealthIndicator],
})
export class HealthModule {}
