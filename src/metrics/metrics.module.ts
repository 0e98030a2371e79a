import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { TaskModule } from '../task/task.module';
import { HttpMetricsMiddleware } from './http-metrics.middleware';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { QueueDepthRepository } from './queue-depth.repository';

/** GET /metrics and the one MetricsService every module reports to (global: sender, receiver, embedding). */
@Global()
@Module({
  imports: [TaskModule],
  controllers: [MetricsController],
  providers: [MetricsService, QueueDepthRepository],
  exports: [MetricsService],
})
export class MetricsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('{*path}');
  }
}
