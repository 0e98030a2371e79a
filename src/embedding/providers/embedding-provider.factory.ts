import { AppConfig, ModelBackend, ModelEntryConfig } from '../../config/app-config';
import { EmbeddingProviderKind } from '../../config/env.dto';
import { MetricsService } from '../../metrics/metrics.service';
import { EmbeddingProvider } from './embedding-provider';
import { createOnnxEntryProvider, createOnnxProvider } from './onnx/create-onnx-provider';
import { createOpenAiCompatibleProvider } from './remote/openai-compatible/create-openai-compatible-provider';
import { ModelRoute, RoutingEmbeddingProvider } from './routing/routing-provider';
import { createTeiEntryProvider, createTeiProvider } from './remote/tei/create-tei-provider';

type ProviderFactory = (config: AppConfig, metrics?: MetricsService) => EmbeddingProvider;
type EntryFactory<B extends ModelBackend> = (
  entry: Extract<ModelEntryConfig, { backend: B }>,
  config: AppConfig,
  metrics?: MetricsService,
) => EmbeddingProvider;

/** One line per back end (EMBEDDING_PROVIDER); each builds its provider from the configuration in its own folder. */
const FACTORIES: Record<EmbeddingProviderKind, ProviderFactory> = {
  onnx: createOnnxProvider,
  tei: createTeiProvider,
};

/** One line per back end of an EMBEDDING_MODELS_FILE entry; each builds the provider of that one model. */
const ENTRY_FACTORIES: { [B in ModelBackend]: EntryFactory<B> } = {
  onnx: createOnnxEntryProvider,
  tei: createTeiEntryProvider,
  openai: createOpenAiCompatibleProvider,
};

/**
 * The configured provider, behind the EmbeddingProvider token: EMBEDDING_PROVIDER's alone, or with a models file, a
 * router over it and one provider per entry.
 */
export function createEmbeddingProvider(config: AppConfig, metrics?: MetricsService): EmbeddingProvider {
  const { embedding } = config;
  const main = FACTORIES[embedding.provider](config, metrics);
  if (embedding.modelsFile.length === 0) return main;
  // TEI names its own model; an ONNX provider without EMBEDDING_MODELS serves nothing and is left out.
  const mainServes = embedding.provider === 'tei' || embedding.models.length > 0;
  const routes: ModelRoute[] = mainServes ? [{ provider: main, configured: embedding.models.map((m) => m.id) }] : [];
  for (const entry of embedding.modelsFile) {
    const factory = ENTRY_FACTORIES[entry.backend] as EntryFactory<ModelBackend>;
    routes.push({ provider: factory(entry, config, metrics), servedAs: entry.id });
  }
  return new RoutingEmbeddingProvider(routes);
}
