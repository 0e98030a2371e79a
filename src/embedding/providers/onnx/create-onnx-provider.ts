import { Logger } from '@nestjs/common';
import { AppConfig, OnnxModelEntry } from '../../../config/app-config';
import { MetricsService } from '../../../metrics/metrics.service';
import { HubCacheOptions } from './model-files/hub-model-cache';
import { OnnxEmbeddingProvider } from './onnx-embedding-provider';

/** EMBEDDING_PROVIDER=onnx: the configured models, in-process on CPU or CUDA. */
export function createOnnxProvider({ embedding }: AppConfig, metrics?: MetricsService): OnnxEmbeddingProvider {
  return new OnnxEmbeddingProvider({
    models: embedding.models.map((model) => ({ ...model, modelFile: embedding.modelFile })),
    device: embedding.device,
    deviceId: embedding.deviceId,
    fallbackToCpu: embedding.cudaFallbackToCpu,
    cudaModelFile: embedding.cudaModelFile,
    intraOpNumThreads: embedding.threads,
    maxBatchTokens: embedding.maxBatchTokens,
    maxBatchSize: embedding.maxBatchSize,
    hub: hubOptions(embedding),
    logger: new Logger('Embedding'),
    onStage: metrics && ((stats) => metrics.embeddingStage(stats)),
  });
}

/** A models-file entry with `backend: onnx`: its own file variant and device, the other settings from the environment. */
export function createOnnxEntryProvider(
  entry: OnnxModelEntry,
  { embedding }: AppConfig,
  metrics?: MetricsService,
): OnnxEmbeddingProvider {
  return new OnnxEmbeddingProvider({
    models: [{ ...entry.source, modelFile: entry.modelFile }],
    device: entry.device,
    deviceId: entry.deviceId,
    fallbackToCpu: embedding.cudaFallbackToCpu,
    intraOpNumThreads: embedding.threads,
    maxBatchTokens: embedding.maxBatchTokens,
    maxBatchSize: embedding.maxBatchSize,
    hub: hubOptions(embedding),
    logger: new Logger('Embedding'),
    onStage: metrics && ((stats) => metrics.embeddingStage(stats)),
  });
}

function hubOptions({ cacheDir, offline, hubUrl, hubToken }: AppConfig['embedding']): HubCacheOptions {
  return { cacheDir, offline, hubUrl, accessToken: hubToken };
}
