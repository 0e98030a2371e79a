import { AppConfig, ModelBackend, ModelEntryConfig } from '../../config/app-config';
import { EmbeddingProviderKind } from '../../config/env.dto';
import { MetricsService } from '../../metrics/metrics.service';
import { EmbeddingModel } from './embedding-model';
import { onnxEntrySettings, onnxSettings } from './onnx/create-onnx-models';
import { onnxModels } from './onnx/onnx-model';
import { createOpenAiCompatibleModel } from './remote/openai-compatible/create-openai-compatible-model';
import { createTeiEntryModel, createTeiModel } from './remote/tei/create-tei-model';

type ModelsFactory = (config: AppConfig, metrics?: MetricsService) => EmbeddingModel[];
type EntryFactory<B extends ModelBackend> = (
  entry: Extract<ModelEntryConfig, { backend: B }>,
  config: AppConfig,
  metrics?: MetricsService,
) => EmbeddingModel;

/** One line per back end of EMBEDDING_PROVIDER; each builds its models from the configuration in its own folder. */
const FACTORIES: Record<EmbeddingProviderKind, ModelsFactory> = {
  onnx: (config, metrics) =>
    onnxModels(
      config.embedding.models.map((model) => ({ ...model, modelFile: config.embedding.modelFile })),
      onnxSettings(config, metrics),
    ),
  tei: (config, metrics) => [createTeiModel(config, metrics)],
};

/** One line per back end of an EMBEDDING_MODELS_FILE entry; each builds that one model, served under its id. */
const ENTRY_FACTORIES: { [B in ModelBackend]: EntryFactory<B> } = {
  onnx: (entry, config, metrics) =>
    onnxModels([{ ...entry.source, modelFile: entry.modelFile }], onnxEntrySettings(entry, config, metrics))[0],
  tei: createTeiEntryModel,
  openai: createOpenAiCompatibleModel,
};

/**
 * Every configured model, one object each, in configuration order: EMBEDDING_PROVIDER's (EMBEDDING_MODELS, or the
 * one a TEI server serves), then the models file's entries. Each serves under its own name, whichever back end runs it.
 */
export function createEmbeddingModels(config: AppConfig, metrics?: MetricsService): EmbeddingModel[] {
  const models = FACTORIES[config.embedding.provider](config, metrics);
  for (const entry of config.embedding.modelsFile) {
    const factory = ENTRY_FACTORIES[entry.backend] as EntryFactory<ModelBackend>;
    models.push(factory(entry, config, metrics));
  }
  return models;
}
