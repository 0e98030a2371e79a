import { Tensor } from 'onnxruntime-node';
import { EmbeddingError, EmbeddingErrorCode } from '../../embedding.errors';
import {
  allEmbedded,
  assertTexts,
  EmbeddingLogger,
  EmbeddingStageObserver,
  EmbedOptions,
  EmbedResult,
  ModelInfo,
} from '../embedding-provider';
import { GraphSignature, inspectGraph } from './graph-signature';
import { ModelFiles } from './model-files/model-files';
import { createOnnxSession, OnnxSession, SessionSettings } from './onnx-session';
import { poolTokenVectors, splitRows } from './pooling';
import { ResolvedOptions, resolveOptions } from './resolve-options';
import { RunLane, RunScheduler } from './run-scheduler';
import { TextTokenizer } from './tokenizer/text-tokenizer';
import { TokenizedText, truncateTokens } from './tokenizer/tokenized-text';
import { BatchLimits, padBatch, planBatches, runCostTokens, TokenBatch } from './token-batches';
import { finishVector } from './vector-math';

const WARM_UP_TEXT = 'Warm-up: the first run allocates buffers and picks kernels.';

/** One loaded model: tokenizer, ONNX session and the sentence-transformers steps around it. */
export class OnnxEmbeddingModel {
  private dimensions = 0;
  /** One run at a time; requests and background work take turns (see RunScheduler). */
  private readonly runs = new RunScheduler();
  /** Unset during warm-up, so metrics count only real work. */
  private observe?: EmbeddingStageObserver;

  private constructor(
    readonly id: string,
    private readonly files: ModelFiles,
    private readonly tokenizer: TextTokenizer,
    private readonly onnx: OnnxSession,
    private readonly graph: GraphSignature,
    private readonly limits: BatchLimits,
    /** Padding positions are masked out, so any id works; the tokenizer's own [PAD] keeps dumps readable. */
    private readonly padId: number,
    private readonly onStage?: EmbeddingStageObserver,
  ) {}

  static async load(
    id: string,
    files: ModelFiles,
    session: SessionSettings,
    limits: BatchLimits,
    logger?: EmbeddingLogger,
    onStage?: EmbeddingStageObserver,
  ): Promise<OnnxEmbeddingModel> {
    const tokenizer = TextTokenizer.fromFile(files.tokenizerPath);
    const padId = (files.padToken === undefined ? undefined : tokenizer.tokenId(files.padToken)) ?? 0;
    const onnx = await createOnnxSession(files.onnxPath, session, logger);
    try {
      return new OnnxEmbeddingModel(id, files, tokenizer, onnx, inspectGraph(id, onnx.session), limits, padId, onStage);
    } catch (error) {
      await onnx.session.release();
      throw error;
    }
  }

  /** The first inference also tells us the vector size, whatever the graph's output metadata says. */
  async warmUp(): Promise<void> {
    const [vector] = allEmbedded(await this.embed([WARM_UP_TEXT], { normalize: false }));
    this.dimensions = vector.length;
    this.observe = this.onStage;
  }

  info(): ModelInfo {
    const { settings, maxTokens } = this.files;
    return {
      id: this.id,
      dimensions: this.dimensions,
      maxTokens,
      pooling: this.graph.pooledByGraph ? 'sentence_embedding' : settings.pooling,
      normalize: settings.normalize,
      prompts: { ...settings.prompts },
      defaultPromptName: settings.defaultPromptName,
      device: this.onnx.device,
    };
  }

  /** Texts over the token limit while truncation is off are refused; the token counts come free (all are tokenised). */
  async embed(texts: string[], options: EmbedOptions = {}): Promise<EmbedResult> {
    assertTexts(texts);
    const request = resolveOptions(options, {
      id: this.id,
      settings: this.files.settings,
      dimensions: this.dimensions,
    });
    const started = performance.now();
    const tokenized = await this.tokenize(texts, request);
    this.observe?.({ stage: 'tokenize', model: this.id, texts: texts.length, seconds: secondsSince(started) });
    const lengths = tokenized.map((text) => text.ids.length);
    const refused = this.overLimit(lengths, request.truncate);
    const accepted = lengths.flatMap((_, index) => (refused.has(index) ? [] : [index]));
    const plan = planBatches(
      accepted.map((index) => lengths[index]),
      this.limits,
      runCostTokens(this.onnx.device, this.limits),
    ).map((batch) => batch.map((position) => accepted[position]));
    const pooled = await this.runAll(tokenized, plan, options.background ? 'background' : 'interactive');
    const vectors = new Array<Float32Array | undefined>(texts.length);
    plan.forEach((textIndexes, batch) => {
      textIndexes.forEach((textIndex, row) => {
        vectors[textIndex] = finishVector(pooled[batch][row], request.normalize, request.dimensions);
      });
    });
    return { vectors, refused, tokenCounts: lengths };
  }

  /** What `embed` would count: the same prompt, lower-casing and truncation, without running the model. */
  async countTokens(texts: string[], options: EmbedOptions = {}): Promise<number[]> {
    assertTexts(texts);
    const request = resolveOptions(options, {
      id: this.id,
      settings: this.files.settings,
      dimensions: this.dimensions,
    });
    return (await this.tokenize(texts, request)).map((text) => text.ids.length);
  }

  async close(): Promise<void> {
    await this.runs.idle();
    await this.onnx.session.release();
  }

  /** Tokenised without truncation first, so that a text over the limit can be told from one that fits. */
  private async tokenize(texts: string[], request: ResolvedOptions): Promise<TokenizedText[]> {
    const { doLowerCase } = this.files.settings;
    const prompted = texts
      .map((text) => request.prefix + text)
      .map((text) => (doLowerCase ? text.toLowerCase() : text));
    const tokenized = await this.tokenizer.encode(prompted);
    return request.truncate ? tokenized.map((text) => truncateTokens(text, this.files.maxTokens)) : tokenized;
  }

  private overLimit(lengths: number[], truncate: boolean): Map<number, EmbeddingError> {
    const { maxTokens } = this.files;
    const refused = new Map<number, EmbeddingError>();
    if (truncate) return refused;
    lengths.forEach((tokens, index) => {
      if (tokens <= maxTokens) return;
      const message =
        `texts[${index}] is ${tokens} tokens long, over the ${maxTokens}-token limit of model "${this.id}" ` +
        '(set truncate to true to cut it)';
      const details = { field: 'texts', index, limit: { maximum: maxTokens, given: tokens } };
      refused.set(index, new EmbeddingError(EmbeddingErrorCode.TooManyTokens, message, details));
    });
    return refused;
  }

  /**
   * The pooled rows of each planned batch. An interactive call submits its runs one by one, so concurrent requests
   * take turns; a background call submits them all at once, so it runs whole (see RunScheduler). A failed run fails
   * the call, and its runs still queued are skipped rather than computed for nothing.
   */
  private async runAll(tokenized: TokenizedText[], plan: number[][], lane: RunLane): Promise<Float32Array[][]> {
    let failed = false;
    const run = (textIndexes: number[]) => {
      const pad = () => {
        if (failed) throw new Error('an earlier batch of this call failed');
        return padBatch(tokenized, textIndexes, this.padId);
      };
      return this.runBatch(pad, lane).catch((error: unknown) => {
        failed = true;
        throw error;
      });
    };
    if (lane === 'background') return Promise.all(plan.map(run));
    const pooled: Float32Array[][] = [];
    for (const textIndexes of plan) pooled.push(await run(textIndexes));
    return pooled;
  }

  /** Pads the batch when its turn comes, so queued background runs hold no tensors. */
  private async runBatch(pad: () => TokenBatch, lane: RunLane): Promise<Float32Array[]> {
    const { outputName, pooledByGraph } = this.graph;
    let batch!: TokenBatch;
    const outputs = await this.runs.run(() => {
      batch = pad();
      return this.timed(batch, () => this.onnx.session.run(this.feedsFor(batch), [outputName]));
    }, lane);
    const output = outputs[outputName];
    const data = output.data as Float32Array;
    if (pooledByGraph) {
      return splitRows(data, batch.batchSize, output.dims[1]);
    }
    const { batchSize, sequenceLength, attentionMask } = batch;
    const tokens = { data, batchSize, sequenceLength, hiddenSize: output.dims[2], attentionMask };
    return poolTokenVectors(tokens, this.files.settings.pooling);
  }

  private feedsFor(batch: TokenBatch): Record<string, Tensor> {
    const shape = [batch.batchSize, batch.sequenceLength];
    const feeds: Record<string, Tensor> = {
      input_ids: new Tensor('int64', batch.inputIds, shape),
      attention_mask: new Tensor('int64', batch.attentionMask, shape),
    };
    if (this.graph.feedsTokenTypes) {
      feeds.token_type_ids = new Tensor('int64', batch.tokenTypeIds, shape);
    }
    return feeds;
  }

  /** Times the run itself, not its wait in the run queue. */
  private async timed<T>(batch: TokenBatch, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const result = await run();
    const { batchSize: texts, sequenceLength } = batch;
    const seconds = secondsSince(started);
    this.observe?.({ stage: 'inference', model: this.id, texts, paddedTokens: texts * sequenceLength, seconds });
    return result;
  }
}

const secondsSince = (started: number) => (performance.now() - started) / 1000;
