import { Logger, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { BatchDeliveryService } from '../delivery/delivery.service';
import { EmbeddingController } from './api/native/native-embedding.controller';
import { EmbeddingLifecycle } from './embedding.lifecycle';
import { EmbeddingService } from './embedding.service';
import { EmbeddingProvider } from './providers/embedding-provider';
import { OnnxEmbeddingProvider } from './providers/onnx/onnx-embedding-provider';
import { OpenAiController } from './api/openai/openai.controller';
import { OpenAiService } from './api/openai/openai.service';
import { createTeiProvider } from './providers/tei/create-tei-provider';
import { TeiController } from './api/tei-compat/tei-compat.controller';
import { TeiService } from './api/tei-compat/tei-compat.service';

/** Builds the configured provider behind the EmbeddingProvider token, so tests and later back ends can swap it. */
export function createEmbeddingProvider(config: AppConfig, metrics?: MetricsService): EmbeddingProvider {
  if (config.embedding.provider === 'tei') return createTeiProvider(config, metrics);
  const { embedding } = config;
  return new OnnxEmbeddingProvider({
    models: embedding.models.map((model) => ({ ...model, modelFile: embedding.modelFile })),
    device: embedding.device,
    deviceId: embedding.deviceId,
    fallbackToCpu: embedding.cudaFallbackToCpu,
    intraOpNumThreads: embedding.threads,
    maxBatchTokens: embedding.maxBatchTokens,
    maxBatchSize: embedding.maxBatchSize,
    hub: { cacheDir: embedding.cacheDir, offline: embedding.offline },
    logger: new Logger('Embedding'),
    onStage: metrics && ((stats) => metrics.embeddingStage(stats)),
  });
}

@Module({
  controllers: [EmbeddingController, OpenAiController, TeiController],
  providers: [
    { provide: EmbeddingProvider, inject: [AppConfig, MetricsService], useFactory: createEmbeddingProvider },
    EmbeddingLifecycle,
    EmbeddingService,
    BatchDeliveryService,
    OpenAiService,
    TeiService,
  ],
  exports: [EmbeddingProvider, EmbeddingService],
})
export class EmbeddingModule {}
