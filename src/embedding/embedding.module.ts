import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { EmbeddingLifecycle } from './embedding.lifecycle';
import { EMBEDDING_MODELS, EmbeddingService } from './embedding.service';
import { createEmbeddingModels } from './providers/embedding-model.factory';

/** The configured models (one object each, built by one factory), loaded at start-up, and the rules over them. */
@Module({
  providers: [
    { provide: EMBEDDING_MODELS, inject: [AppConfig, MetricsService], useFactory: createEmbeddingModels },
    EmbeddingLifecycle,
    EmbeddingService,
  ],
  exports: [EmbeddingService],
})
export class EmbeddingModule {}
