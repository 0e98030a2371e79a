import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { EmbeddingLifecycle } from './embedding.lifecycle';
import { EmbeddingService } from './embedding.service';
import { EmbeddingProvider } from './providers/embedding-provider';
import { createEmbeddingProvider } from './providers/embedding-provider.factory';

/** The configured back end behind the EmbeddingProvider token, loaded at start-up, and the rules over it. */
@Module({
  providers: [
    { provide: EmbeddingProvider, inject: [AppConfig, MetricsService], useFactory: createEmbeddingProvider },
    EmbeddingLifecycle,
    EmbeddingService,
  ],
  exports: [EmbeddingService],
})
export class EmbeddingModule {}
