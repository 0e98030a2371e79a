import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { ENTITIES } from './entities';
import { ApiModule } from './api/api.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { LoggingModule } from './logging/logging.module';
import { ReceiverEndpointModule } from './receiver/receiver-endpoint.module';
import { SearchModule } from './search/search.module';
import { SenderModule } from './sender/sender.module';
import { TaskModule } from './task/task.module';

@Module({})
export class AppModule {
  /** The whole service for one validated configuration (main.ts and the end-to-end tests both build it so). */
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule,
        DatabaseModule.forRoot(ENTITIES),
        MetricsModule,
        AuthModule,
        ApiModule,
        ReceiverEndpointModule.register(config.receiver.enabled),
        HealthModule,
        TaskModule,
        SearchModule,
        SenderModule,
      ],
    };
  }
}
