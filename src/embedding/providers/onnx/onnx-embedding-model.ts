import { Tensor } from 'onnxruntime-node';
import { EmbeddingError, EmbeddingErrorCode, Terms } from '../../embedding.errors';
import {
  allEmbedded,
  EmbedInput,
  EmbeddingLogger,
  EmbeddingStageObserver,
  EmbedOptions,
  EmbedResult,
  ModelInfo,
  TextToken,
  TokenIds,
  TokenizeOptions,
} from '../embedding-model';
import { GraphSignature, inspectGraph } from './graph-signature';
import { ModelFiles } from './model-files/model-files';
import { summarizeOnnxGraph } from './model-files/onnx-graph-summary';
import { ModelInputs } from './model-inputs';
import { modelDtype, OnnxModelDtype } from './model-dtype';
import { createOnnxSession, OnnxSession, SessionSettings } from './onnx-session';
import { outputFloats } from './output-floats';
import { poolTokenVectors, splitRows } from './pooling';
import { ResolvedOptions, resolveOptions } from './resolve-options';
import { RunLane, RunScheduler } from './run-scheduler';
import { TextTokenizer } from '../tokenizer/text-tokenizer';
import { TokenizedText } from '../tokenizer/tokenized-text';
import { BatchLimits, padBatch, planBatches, runCostTokens, TokenBatch } from './token-batches';
import { finishVector } from '../vector-math';

const WARM_UP_TEXT = 'Warm-up: the first run allocates buffers and picks kernels.';

/** One loaded model: tokenizer, ONNX session and the sentence-transformers steps around it. */
export class OnnxEmbeddingModel {
  private dimensions = 0;
  /** One run at a time; requests and background work take turns (see RunScheduler). */
  private readonly runs = new RunScheduler();
  /** Unset during warm-up, so metrics count only real work. */
  private observe?: EmbeddingStageObserver;
  private readonly inputs: ModelInputs;

  private constructor(
    readonly id: string,
    private readonly files: ModelFiles,
    tokenizer: TextTokenizer,
    private readonly onnx: OnnxSession,
    private readonly graph: GraphSignature,
    private readonly dtype: OnnxModelDtype,
    private readonly limits: BatchLimits,
    /** Padding positions are masked out, so any id works; the tokenizer's own [PAD] keeps dumps readable. */
    private readonly padId: number,
    private readonly onStage?: EmbeddingStageObserver,
  ) {
    this.inputs = new ModelInputs(id, tokenizer, files);
  }

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
    const onnx = await createOnnxSession({ cpu: files.onnxPath, cuda: files.cudaOnnxPath }, session, logger);
    try {
      const graph = inspectGraph(id, onnx.session);
      // After onnxruntime accepted the file, so a broken one fails with its message.
      const dtype = modelDtype(await summarizeOnnxGraph(onnx.path));
      return new OnnxEmbeddingModel(id, files, tokenizer, onnx, graph, dtype, limits, padId, onStage);
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

  /** The ONNX file this model runs. */
  get file(): string {
    return this.onnx.path;
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
      dtype: this.dtype,
    };
  }

  /**
   * Inputs over the token limit while truncation is off are refused; the token counts come free (all are tokenised).
   * Token-id inputs are used as given (see ModelInputs).
   */
  async embed(inputs: EmbedInput[], options: EmbedOptions = {}): Promise<EmbedResult> {
    const request = this.resolve(options);
    const read = (output: Tensor, batch: TokenBatch) => this.pooledRows(output, batch);
    const run = await this.runPrepared(inputs, request, options, this.graph.outputName, read);
    return { ...run, vectors: run.vectors.map((v) => v && finishVector(v, request.normalize, request.dimensions)) };
  }

  /** The hidden state of every token, before pooling; normalize and dimensions do not apply. */
  async embedTokens(inputs: EmbedInput[], options: EmbedOptions = {}): Promise<EmbedResult<Float32Array[]>> {
    const { tokenOutputName } = this.graph;
    if (!tokenOutputName) {
      const message = `Model "${this.id}" outputs only pooled vectors (sentence_embedding), not token-level ones`;
      throw new EmbeddingError(EmbeddingErrorCode.UnsupportedOperation, message);
    }
    const request = this.resolve({ ...options, dimensions: undefined });
    return this.runPrepared(inputs, request, options, tokenOutputName, tokenRows);
  }

  async tokenize(texts: string[], options: TokenizeOptions = {}): Promise<TextToken[][]> {
    const { prefix } = this.resolve(options);
    return this.inputs.tokens(texts, prefix, options.addSpecialTokens ?? true);
  }

  decode(ids: TokenIds[], skipSpecialTokens: boolean): Promise<string[]> {
    return this.inputs.decode(ids, skipSpecialTokens);
  }

  /** What `embed` would count: the same prompt, lower-casing and truncation, without running the model. */
  async countTokens(texts: string[], options: EmbedOptions = {}): Promise<number[]> {
    return (await this.inputs.encode(texts, this.resolve(options))).map((text) => text.ids.length);
  }

  async close(): Promise<void> {
    await this.runs.idle();
    await this.onnx.session.release();
  }

  private resolve(options: EmbedOptions): ResolvedOptions {
    return resolveOptions(options, { id: this.id, settings: this.files.settings });
  }

  /** Tokenises, refuses what is over the limit, plans the batches and runs them; `read` turns a run into rows. */
  private async runPrepared<V>(
    inputs: EmbedInput[],
    request: ResolvedOptions,
    options: EmbedOptions,
    outputName: string,
    read: BatchReader<V>,
  ): Promise<EmbedResult<V>> {
    const started = performance.now();
    const tokenized = await this.inputs.encode(inputs, request);
    this.observe?.({ stage: 'tokenize', model: this.id, texts: inputs.length, seconds: secondsSince(started) });
    const lengths = tokenized.map((text) => text.ids.length);
    const refused = this.overLimit(lengths, request.truncate);
    const accepted = lengths.flatMap((_, index) => (refused.has(index) ? [] : [index]));
    const plan = planBatches(
      accepted.map((index) => lengths[index]),
      this.limits,
      runCostTokens(this.onnx.device, this.limits),
    ).map((batch) => batch.map((position) => accepted[position]));
    const lane = options.background ? 'background' : 'interactive';
    const rows = await this.runAll(tokenized, plan, lane, outputName, read);
    const vectors = new Array<V | undefined>(inputs.length);
    plan.forEach((textIndexes, batch) =>
      textIndexes.forEach((textIndex, row) => (vectors[textIndex] = rows[batch][row])),
    );
    return { vectors, refused, tokenCounts: lengths };
  }

  private overLimit(lengths: number[], truncate: boolean): Map<number, EmbeddingError> {
    const { maxTokens } = this.files;
    const refused = new Map<number, EmbeddingError>();
    if (truncate) return refused;
    lengths.forEach((tokens, index) => {
      if (tokens <= maxTokens) return;
      const message = (terms: Terms) =>
        `${terms.text(index)} is ${tokens} tokens long, over the ${maxTokens}-token limit of model "${this.id}" ` +
        '(set truncate to true to cut it)';
      const details = { field: 'texts', index, limit: { maximum: maxTokens, given: tokens } };
      refused.set(index, new EmbeddingError(EmbeddingErrorCode.TooManyTokens, message, details));
    });
    return refused;
  }

  /**
   * The rows of each planned batch, as `read` makes them. An interactive call submits its runs one by one, so concurrent requests
   * take turns; a background call submits them all at once, so it runs whole (see RunScheduler). A failed run fails
   * the call, and its runs still queued are skipped rather than computed for nothing.
   */
  private async runAll<V>(
    tokenized: TokenizedText[],
    plan: number[][],
    lane: RunLane,
    outputName: string,
    read: BatchReader<V>,
  ): Promise<V[][]> {
    let failed = false;
    const run = (textIndexes: number[]) => {
      const pad = () => {
        if (failed) throw new Error('an earlier batch of this call failed');
        return padBatch(tokenized, textIndexes, this.padId);
      };
      return this.runBatch(pad, lane, outputName, read).catch((error: unknown) => {
        failed = true;
        throw error;
      });
    };
    if (lane === 'background') return Promise.all(plan.map(run));
    const rows: V[][] = [];
    for (const textIndexes of plan) rows.push(await run(textIndexes));
    return rows;
  }

  /** Pads the batch when its turn comes, so queued background runs hold no tensors. */
  private async runBatch<V>(
    pad: () => TokenBatch,
    lane: RunLane,
    outputName: string,
    read: BatchReader<V>,
  ): Promise<V[]> {
    let batch!: TokenBatch;
    const outputs = await this.runs.run(() => {
      batch = pad();
      return this.timed(batch, () => this.onnx.session.run(this.feedsFor(batch), [outputName]));
    }, lane);
    return read(outputs[outputName], batch);
  }

  private pooledRows(output: Tensor, batch: TokenBatch): Float32Array[] {
    const data = outputFloats(output);
    if (this.graph.pooledByGraph) {
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

/** One run's output as one row per text of the batch. */
type BatchReader<V> = (output: Tensor, batch: TokenBatch) => V[];

/** Each text's own tokens (rows are right-padded): one vector per token. */
function tokenRows(output: Tensor, batch: TokenBatch): Float32Array[][] {
  const data = outputFloats(output);
  const { sequenceLength, attentionMask } = batch;
  const hidden = output.dims[2];
  return batch.textIndexes.map((_, row) => {
    const length = attentionMask.subarray(row * sequenceLength, (row + 1) * sequenceLength).indexOf(0n);
    const start = row * sequenceLength * hidden;
    return Array.from({ length: length < 0 ? sequenceLength : length }, (_, position) =>
      data.slice(start + position * hidden, start + (position + 1) * hidden),
    );
  });
}

const secondsSince = (started: number) => (performance.now() - started) / 1000;
