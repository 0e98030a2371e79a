import { Logger } from '@nestjs/common';
import { AppConfig, OnnxModelEntry } from '../../../config/app-config';
import { MetricsService } from '../../../metrics/metrics.service';
import { OnnxSettings } from './onnx-model';

/** The settings every ONNX model of this instance shares, from the environment. */
function sharedSettings({ embedding }: AppConfig, metrics?: MetricsService): OnnxSettings {
  return {
    fallbackToCpu: embedding.cudaFallbackToCpu,
    intraOpNumThreads: embedding.threads,
    maxBatchTokens: embedding.maxBatchTokens,
    maxBatchSize: embedding.maxBatchSize,
    hub: {
      cacheDir: embedding.cacheDir,
      offline: embedding.offline,
      hubUrl: embedding.hubUrl,
      accessToken: embedding.hubToken,
    },
    logger: new Logger('Embedding'),
    onStage: metrics && ((stats) => metrics.embeddingStage(stats)),
  };
}

/** EMBEDDING_PROVIDER=onnx: EMBEDDING_MODELS, in-process on EMBEDDING_DEVICE. */
export function onnxSettings(config: AppConfig, metrics?: MetricsService): OnnxSettings {
  const { embedding } = config;
  return {
    ...sharedSettings(config, metrics),
    device: embedding.device,
    deviceId: embedding.deviceId,
    cudaModelFile: embedding.cudaModelFile,
  };
}

/** A models-file entry with `backend: onnx`: its own device (and file variant), the rest from the environment. */
export function onnxEntrySettings(entry: OnnxModelEntry, config: AppConfig, metrics?: MetricsService): OnnxSettings {
  return { ...sharedSettings(config, metrics), device: entry.device, deviceId: entry.deviceId };
}
