import { basename, resolve } from 'node:path';
import { messageOf } from '../../../common/message-of';
import { invalidConfiguration, modelNotReady, unknownModel } from '../../embedding.errors';
import {
  assertTexts,
  EmbedInput,
  EmbeddingLogger,
  EmbeddingProvider,
  EmbeddingReadiness,
  EmbeddingStageObserver,
  EmbedOptions,
  EmbedResult,
  ExecutionDevice,
  ModelInfo,
  ModelReadiness,
  TextToken,
  TokenIds,
  TokenizeOptions,
} from '../embedding-provider';
import { ensureHubModelFiles, HubCacheOptions } from './model-files/hub-model-cache';
import { readModelFiles } from './model-files/model-files';
import { EmbeddingModelSource, validateModelSources } from './model-files/model-source';
import { OnnxEmbeddingModel } from './onnx-embedding-model';
import { SessionSettings } from './onnx-session';
import { BatchLimits } from './token-batches';

export interface OnnxEmbeddingProviderOptions {
  models: EmbeddingModelSource[];
  /** Default 'cpu'. */
  device?: ExecutionDevice;
  deviceId?: number;
  /** Run on CPU, with a warning, when CUDA is configured but cannot start. */
  fallbackToCpu?: boolean;
  /** The ONNX file every model loads on CUDA, unless its source names its own (see EmbeddingModelSource). */
  cudaModelFile?: string;
  /** Default: os.availableParallelism(). */
  intraOpNumThreads?: number;
  /** Padded tokens (batch size x longest text) per inference. Default 8192. */
  maxBatchTokens?: number;
  /** Texts per inference. Default 32. */
  maxBatchSize?: number;
  hub?: HubCacheOptions;
  logger?: EmbeddingLogger;
  /** Told the cost of every tokenisation and inference batch (metrics); the provider knows nothing of Nest. */
  onStage?: EmbeddingStageObserver;
}

const DEFAULT_LIMITS: BatchLimits = { maxBatchTokens: 8192, maxBatchSize: 32 };

/** Serves the configured ONNX models; a plain class, so the Nest module builds it in a factory. */
export class OnnxEmbeddingProvider extends EmbeddingProvider {
  private readonly loaded = new Map<string, OnnxEmbeddingModel>();
  private readonly statuses = new Map<string, ModelReadiness>();
  private initialization?: Promise<void>;

  constructor(private readonly options: OnnxEmbeddingProviderOptions) {
    super();
    validateModelSources(options.models);
    validateLimits(this.batchLimits());
    for (const { id } of options.models) {
      this.statuses.set(id, { id, loaded: false, warmedUp: false });
    }
  }

  /** Idempotent: concurrent or repeated calls share one initialisation. */
  init(): Promise<void> {
    this.initialization ??= this.loadAll();
    return this.initialization;
  }

  async close(): Promise<void> {
    const models = [...this.loaded.values()];
    this.loaded.clear();
    this.initialization = undefined;
    for (const { id } of this.options.models) {
      this.statuses.set(id, { id, loaded: false, warmedUp: false });
    }
    await Promise.all(models.map((model) => model.close()));
  }

  /** Async so that an unknown or unready model rejects like every other failure, never throws synchronously. */
  async embed(model: string, texts: string[], options?: EmbedOptions): Promise<EmbedResult> {
    assertTexts(texts);
    return this.readyModel(model).embed(texts, options);
  }

  async countTokens(model: string, texts: string[], options?: EmbedOptions): Promise<number[]> {
    return this.readyModel(model).countTokens(texts, options);
  }

  async embedInputs(model: string, inputs: EmbedInput[], options?: EmbedOptions): Promise<EmbedResult> {
    return this.readyModel(model).embed(inputs, options);
  }

  async embedTokens(model: string, inputs: EmbedInput[], options?: EmbedOptions): Promise<EmbedResult<Float32Array[]>> {
    return this.readyModel(model).embedTokens(inputs, options);
  }

  async tokenize(model: string, texts: string[], options?: TokenizeOptions): Promise<TextToken[][]> {
    return this.readyModel(model).tokenize(texts, options);
  }

  async decode(model: string, ids: TokenIds[], skipSpecialTokens: boolean): Promise<string[]> {
    return this.readyModel(model).decode(ids, skipSpecialTokens);
  }

  describe(model: string): ModelInfo {
    return this.readyModel(model).info();
  }

  /** The models ready to serve, in configuration order. */
  models(): ModelInfo[] {
    return this.options.models.filter(({ id }) => this.statuses.get(id)?.warmedUp).map(({ id }) => this.describe(id));
  }

  async readiness(): Promise<EmbeddingReadiness> {
    const models = this.options.models.map(({ id }) => ({ ...this.statuses.get(id)! }));
    return { ready: models.length > 0 && models.every((model) => model.warmedUp), models };
  }

  private async loadAll(): Promise<void> {
    // One at a time: loading sessions in parallel only competes for the same cores and memory.
    for (const source of this.options.models) {
      await this.load(source);
    }
  }

  private async load(source: EmbeddingModelSource): Promise<void> {
    const { logger } = this.options;
    try {
      const cudaModelFile =
        this.options.device === 'cuda' ? (source.cudaModelFile ?? this.options.cudaModelFile) : undefined;
      const withCudaFile = { ...source, cudaModelFile };
      const folder = await this.modelFolder(withCudaFile);
      const files = await readModelFiles(source.id, folder, source.modelFile, cudaModelFile);
      const [settings, limits] = [this.sessionSettings(), this.batchLimits()];
      const model = await OnnxEmbeddingModel.load(source.id, files, settings, limits, logger, this.options.onStage);
      this.loaded.set(source.id, model);
      this.updateStatus(source.id, { loaded: true, device: model.info().device });
      await model.warmUp();
      this.updateStatus(source.id, { warmedUp: true });
      const { dimensions, maxTokens, device, dtype } = model.info();
      const described = `${dimensions} dimensions, ${maxTokens} tokens, ${device}, ${dtype}`;
      logger?.log(`Embedding model "${source.id}" ready: ${described} (${basename(model.file)})`);
    } catch (error) {
      this.updateStatus(source.id, { error: messageOf(error) });
      throw error;
    }
  }

  private async modelFolder(source: EmbeddingModelSource): Promise<string> {
    if (source.path) {
      return resolve(source.path);
    }
    return ensureHubModelFiles({ ...source, hubId: source.hubId! }, this.options.hub, this.options.logger);
  }

  private readyModel(id: string): OnnxEmbeddingModel {
    const status = this.statuses.get(id);
    if (!status) {
      throw unknownModel(id, [...this.statuses.keys()]);
    }
    const model = this.loaded.get(id);
    if (!model || !status.warmedUp) {
      throw modelNotReady(id);
    }
    return model;
  }

  private updateStatus(id: string, change: Partial<ModelReadiness>): void {
    this.statuses.set(id, { ...this.statuses.get(id)!, ...change });
  }

  private sessionSettings(): SessionSettings {
    const { device = 'cpu', deviceId, fallbackToCpu, intraOpNumThreads } = this.options;
    return { device, deviceId, fallbackToCpu, intraOpNumThreads };
  }

  private batchLimits(): BatchLimits {
    const { maxBatchTokens = DEFAULT_LIMITS.maxBatchTokens, maxBatchSize = DEFAULT_LIMITS.maxBatchSize } = this.options;
    return { maxBatchTokens, maxBatchSize };
  }
}

function validateLimits(limits: BatchLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) {
      throw invalidConfiguration(`${name} must be a positive integer, got ${value}`);
    }
  }
}
