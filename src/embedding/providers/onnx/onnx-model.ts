import { basename, resolve } from 'node:path';
import { messageOf } from '../../../common/message-of';
import { Slots } from '../../../common/slots';
import { invalidConfiguration, modelNotReady } from '../../embedding.errors';
import {
  EmbedInput,
  EmbeddingLogger,
  EmbeddingModel,
  EmbeddingStageObserver,
  EmbedOptions,
  EmbedResult,
  ExecutionDevice,
  ModelInfo,
  ModelReadiness,
  TextToken,
  TokenCounting,
  TokenIds,
  TokenizeOptions,
  Tokenizing,
  TokenVectors,
} from '../embedding-model';
import { ensureHubModelFiles, HubCacheOptions } from './model-files/hub-model-cache';
import { readModelFiles } from './model-files/model-files';
import { EmbeddingModelSource, validateModelSources } from './model-files/model-source';
import { OnnxEmbeddingModel } from './onnx-embedding-model';
import { SessionSettings } from './onnx-session';
import { BatchLimits } from './token-batches';

/** What every ONNX model of an instance shares: the device, threads, batch limits, the hub cache. */
export interface OnnxSettings {
  /** Default 'cpu'. */
  device?: ExecutionDevice;
  deviceId?: number;
  /** Run on CPU, with a warning, when CUDA is configured but cannot start. */
  fallbackToCpu?: boolean;
  /** The ONNX file a model loads on CUDA, unless its source names its own (see EmbeddingModelSource). */
  cudaModelFile?: string;
  /** Default: os.availableParallelism(). */
  intraOpNumThreads?: number;
  /** Padded tokens (batch size x longest text) per inference. Default 8192. */
  maxBatchTokens?: number;
  /** Texts per inference. Default 32. */
  maxBatchSize?: number;
  hub?: HubCacheOptions;
  logger?: EmbeddingLogger;
  /** Told the cost of every tokenisation and inference batch (metrics); the model knows nothing of Nest. */
  onStage?: EmbeddingStageObserver;
  /**
   * Loads take turns here, one at a time: loading sessions in parallel only competes for the same cores and memory.
   * Models built together share one (onnxModels does that).
   */
  loading?: Slots;
}

const DEFAULT_LIMITS: BatchLimits = { maxBatchTokens: 8192, maxBatchSize: 32 };

/** The configured ONNX models, each its own EmbeddingModel, loading one at a time. */
export function onnxModels(sources: EmbeddingModelSource[], settings: OnnxSettings): OnnxModel[] {
  validateModelSources(sources);
  const loading = settings.loading ?? new Slots(1);
  return sources.map((source) => new OnnxModel(source, { ...settings, loading }));
}

/** One ONNX model served in-process, on CPU or CUDA: its files (a folder or the hub cache), its session and state. */
export class OnnxModel implements EmbeddingModel, TokenCounting, TokenVectors, Tokenizing {
  private loaded?: OnnxEmbeddingModel;
  private status: ModelReadiness;
  private loading?: Promise<void>;

  constructor(
    private readonly source: EmbeddingModelSource,
    private readonly settings: OnnxSettings = {},
  ) {
    validateLimits(this.batchLimits());
    this.status = { id: source.id, loaded: false, warmedUp: false };
  }

  get id(): string {
    return this.source.id;
  }

  /** Idempotent: concurrent or repeated calls share one load. */
  load(): Promise<void> {
    this.loading ??= (this.settings.loading ?? new Slots(1)).run(() => this.loadNow());
    return this.loading;
  }

  async close(): Promise<void> {
    const model = this.loaded;
    this.loaded = undefined;
    this.loading = undefined;
    this.status = { id: this.id, loaded: false, warmedUp: false };
    await model?.close();
  }

  info(): ModelInfo {
    return this.ready().info();
  }

  async embed(inputs: EmbedInput[], options?: EmbedOptions): Promise<EmbedResult> {
    return this.ready().embed(inputs, options);
  }

  async countTokens(texts: string[], options?: EmbedOptions): Promise<number[]> {
    return this.ready().countTokens(texts, options);
  }

  async embedTokens(inputs: EmbedInput[], options?: EmbedOptions): Promise<EmbedResult<Float32Array[]>> {
    return this.ready().embedTokens(inputs, options);
  }

  async tokenize(texts: string[], options?: TokenizeOptions): Promise<TextToken[][]> {
    return this.ready().tokenize(texts, options);
  }

  async decode(ids: TokenIds[], skipSpecialTokens: boolean): Promise<string[]> {
    return this.ready().decode(ids, skipSpecialTokens);
  }

  async readiness(): Promise<ModelReadiness> {
    return { ...this.status };
  }

  private async loadNow(): Promise<void> {
    const { logger, onStage } = this.settings;
    try {
      const cudaModelFile =
        this.settings.device === 'cuda' ? (this.source.cudaModelFile ?? this.settings.cudaModelFile) : undefined;
      const folder = await this.modelFolder();
      const files = await readModelFiles(this.id, folder, this.source.modelFile, cudaModelFile);
      const model = await OnnxEmbeddingModel.load(
        this.id,
        files,
        this.sessionSettings(),
        this.batchLimits(),
        logger,
        onStage,
      );
      this.loaded = model;
      this.status = { ...this.status, loaded: true, device: model.info().device };
      await model.warmUp();
      this.status = { ...this.status, warmedUp: true };
      const { dimensions, maxTokens, device, dtype } = model.info();
      const described = `${dimensions} dimensions, ${maxTokens} tokens, ${device}, ${dtype}`;
      logger?.log(`Embedding model "${this.id}" ready: ${described} (${basename(model.file)})`);
    } catch (error) {
      this.status = { ...this.status, error: messageOf(error) };
      throw error;
    }
  }

  private async modelFolder(): Promise<string> {
    if (this.source.path) return resolve(this.source.path);
    return ensureHubModelFiles({ ...this.source, hubId: this.source.hubId! }, this.settings.hub, this.settings.logger);
  }

  private ready(): OnnxEmbeddingModel {
    if (!this.loaded || !this.status.warmedUp) throw modelNotReady(this.id);
    return this.loaded;
  }

  private sessionSettings(): SessionSettings {
    const { device = 'cpu', deviceId, fallbackToCpu, intraOpNumThreads } = this.settings;
    return { device, deviceId, fallbackToCpu, intraOpNumThreads };
  }

  private batchLimits(): BatchLimits {
    const { maxBatchTokens = DEFAULT_LIMITS.maxBatchTokens, maxBatchSize = DEFAULT_LIMITS.maxBatchSize } =
      this.settings;
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
