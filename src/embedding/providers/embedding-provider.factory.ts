import { AppConfig } from '../../config/app-config';
import { EmbeddingProviderKind } from '../../config/env.dto';
import { MetricsService } from '../../metrics/metrics.service';
import { EmbeddingProvider } from './embedding-provider';
import { createOnnxProvider } from './onnx/create-onnx-provider';
import { createTeiProvider } from './tei/create-tei-provider';

type ProviderFactory = (config: AppConfig, metrics?: MetricsService) => EmbeddingProvider;

/** One line per back end (EMBEDDING_PROVIDER); each builds its provider from the configuration in its own folder. */
const FACTORIES: Record<EmbeddingProviderKind, ProviderFactory> = {
  onnx: createOnnxProvider,
  tei: createTeiProvider,
};

/** The configured provider, behind the EmbeddingProvider token. */
export function createEmbeddingProvider(config: AppConfig, metrics?: MetricsService): EmbeddingProvider {
  return FACTORIES[config.embedding.provider](config, metrics);
}
