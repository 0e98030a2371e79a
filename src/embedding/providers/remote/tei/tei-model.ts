import { messageOf } from '../../../../common/message-of';
import { invalidConfiguration, invalidInput } from '../../../embedding.errors';
import {
  EmbedInput,
  EmbeddingLogger,
  EmbedOptions,
  EmbedResult,
  ModelReadiness,
  TextToken,
  TokenIds,
  TokenizeOptions,
  Tokenizing,
  TokenVectors,
} from '../../embedding-model';
import { AimdWindow, AimdWindowSnapshot } from '../aimd-window';
import { chunkIndexes, refusalErrors, sendIsolatingRefusals } from '../refusal-isolation';
import { RemoteUnavailableError } from '../remote.errors';
import { RemoteModel } from '../remote-model';
import { RemoteRequestError } from '../remote-request-error';
import { RemoteSender } from '../remote-sender';
import { windowLimiter } from '../request-limiter';
import { TeiClient, TeiInfo } from './tei-client';
import { requestSettings, toModelInfo } from './tei-mapping';
import { teiModelMismatch } from './tei.errors';

export interface TeiModelOptions {
  url: string;
  apiKey?: string;
  /** Time limit of one request. */
  timeoutMs: number;
  /** Most requests in flight; 0: TEI's max_concurrent_requests ÷ batch size (TEI counts inputs), at least 1. */
  maxConcurrency: number;
  /** Most texts per request; 0: TEI's max_client_batch_size, which is never exceeded either way. */
  batchSize: number;
  /** Tries per request for 429, 503, 5xx, network errors and timeouts. */
  maxAttempts: number;
  retryBaseMs: number;
  /** How long start-up waits for TEI to answer GET /info (TEI answers only once its model is loaded). */
  startupWaitMs: number;
  /** The model TEI must serve (EMBEDDING_MODELS, or a models-file entry's `model`); unset: whatever it serves. */
  expectedModel?: string;
  /** The name this service serves it under (a models-file entry's id); default: TEI's own model_id. */
  servedAs?: string;
  /** Texts the sender keeps in flight (batch size × concurrency), to warn when it cannot fill the window. */
  senderCapacity?: number;
  logger?: EmbeddingLogger;
  /** Called for every failed request to TEI (before any retry), e.g. to count them; must not throw. */
  onRequestError?: (status: number | 'network' | 'timeout' | 'error') => void;
}

const WARM_UP_TEXT = 'warm-up';

/**
 * The one model a Hugging Face text-embeddings-inference server serves (its `/info` model_id). Texts go out in
 * batches of at most TEI's max_client_batch_size, many at once, within an AIMD window (aimd-window.ts) that shrinks
 * on 429s and timeouts and grows back with successes, so a GPU behind TEI stays busy without being flooded. Retries,
 * the window and refusal isolation are the remote back ends' shared ones (RemoteSender, sendIsolatingRefusals).
 */
export class TeiModel extends RemoteModel implements TokenVectors, Tokenizing {
  private readonly client: TeiClient;
  private sender?: RemoteSender;
  private aimd?: AimdWindow;

  constructor(private readonly options: TeiModelOptions) {
    const id = options.servedAs ?? options.expectedModel ?? `TEI at ${options.url}`;
    super({ ...options, initialStatus: { id, loaded: false, warmedUp: false } }, 1);
    this.client = new TeiClient({ url: options.url, apiKey: options.apiKey, timeoutMs: options.timeoutMs });
  }

  /** TEI takes token ids in `inputs` too (and decodes them when a prompt applies). */
  async embed(inputs: EmbedInput[], options: EmbedOptions = {}): Promise<EmbedResult> {
    const settings = requestSettings(options, this.info());
    return this.isolating(inputs, (batch, signal) => this.client.embed({ ...settings, inputs: batch }, signal));
  }

  /** TEI's /embed_all. */
  async embedTokens(inputs: EmbedInput[], options: EmbedOptions = {}): Promise<EmbedResult<Float32Array[]>> {
    const { truncate, prompt_name } = requestSettings({ ...options, dimensions: undefined }, this.info());
    return this.isolating(inputs, (batch, signal) =>
      this.client.embedAll({ inputs: batch, truncate, prompt_name }, signal),
    );
  }

  /** TEI's /tokenize, in batches TEI takes; a refusal (unknown prompt…) names TEI's reason. */
  async tokenize(texts: string[], options: TokenizeOptions = {}): Promise<TextToken[][]> {
    const { prompt_name } = requestSettings({ promptName: options.promptName, prompt: options.prompt }, this.info());
    const add_special_tokens = options.addSpecialTokens ?? true;
    return this.inBatches(texts, (inputs, signal) =>
      this.client.tokenize({ inputs, add_special_tokens, prompt_name }, signal),
    );
  }

  /** TEI's /decode; TEI drops ids outside its vocabulary, which it does not tell. */
  async decode(ids: TokenIds[], skipSpecialTokens: boolean): Promise<string[]> {
    this.info();
    return this.inBatches(ids, (lists, signal) =>
      this.client.decode({ ids: lists, skip_special_tokens: skipSpecialTokens }, signal),
    );
  }

  /** Asks TEI's GET /health, so readiness follows TEI going down and coming back. */
  async readiness(signal?: AbortSignal): Promise<ModelReadiness> {
    if (this.served) await this.checkHealth(signal);
    return { ...this.status };
  }

  /** The in-flight window now: its size, ceiling, requests in flight, decreases so far. */
  window(): AimdWindowSnapshot | undefined {
    return this.aimd?.snapshot();
  }

  protected async start(): Promise<void> {
    const info = await this.waitForServer((signal) => this.client.info(signal), {
      mayPass: (error) => error instanceof RemoteRequestError && error.retryable,
      giveUp: (error) =>
        new RemoteUnavailableError(`TEI at ${this.options.url} cannot serve: ${messageOf(error)}${hint(error)}`, false),
      waiting: (error) => `Waiting for TEI at ${this.options.url}: ${messageOf(error)}`,
    });
    this.checkModel(info);
    this.batchSize = Math.max(1, Math.min(this.options.batchSize || Infinity, info.max_client_batch_size));
    const derived = Math.floor(info.max_concurrent_requests / this.batchSize);
    this.aimd = new AimdWindow({ max: Math.max(1, this.options.maxConcurrency || derived) });
    this.sender = new RemoteSender(windowLimiter(this.aimd), { ...this.options, hint });
    this.status = { id: this.options.servedAs ?? info.model_id, loaded: true, warmedUp: false, device: 'remote' };
    const warmUp = { inputs: [WARM_UP_TEXT], truncate: true, normalize: true };
    const signal = this.closing.signal;
    const [vector] = await this.sender.send({ send: (tries) => this.client.embed(warmUp, tries), signal });
    this.ready({ ...toModelInfo(info, vector.length), id: this.status.id });
    this.logReady(info);
  }

  private async checkHealth(signal?: AbortSignal): Promise<void> {
    try {
      await this.client.health(signal);
      this.status = { ...this.status, error: undefined };
    } catch (error) {
      const reason = signal?.aborted ? 'no answer in time' : messageOf(error);
      this.status = { ...this.status, error: `TEI at ${this.options.url} is not healthy (GET /health): ${reason}` };
    }
  }

  private checkModel(info: TeiInfo): void {
    const type = info.model_type ?? {};
    if (!type.embedding && (type.classifier || type.reranker)) {
      const kind = type.reranker ? 'reranker' : 'classifier';
      throw invalidConfiguration(
        `TEI at ${this.options.url} serves "${info.model_id}", a ${kind}, not an embedding model`,
      );
    }
    const expected = this.options.expectedModel;
    if (expected !== undefined && expected !== info.model_id) {
      throw teiModelMismatch(expected, info.model_id, this.options.url);
    }
  }

  /**
   * In batches of at most TEI's batch size, isolating the inputs TEI refuses (each refused with TEI's reason) while
   * the others are answered.
   */
  private async isolating<V>(
    inputs: EmbedInput[],
    call: (batch: EmbedInput[], signal: AbortSignal) => Promise<V[]>,
  ): Promise<EmbedResult<V>> {
    const vectors = new Map<number, V>();
    const send = async (indexes: number[], signal: AbortSignal) => {
      const batch = indexes.map((index) => inputs[index]);
      const answers = await this.sender!.send({ send: (tries) => call(batch, tries), signal });
      indexes.forEach((index, position) => vectors.set(index, answers[position]));
    };
    const indexes = inputs.map((_, index) => index);
    const refused = await sendIsolatingRefusals(chunkIndexes(indexes, this.batchSize), send, {
      signal: this.closing.signal,
      onLimit: (limit) => this.learnBatchLimit(limit),
    });
    return {
      vectors: indexes.map((index) => vectors.get(index)),
      refused: refusalErrors('TEI', inputs.length, refused),
      tokenCounts: null,
    };
  }

  /** One answer per item, in batches TEI takes, all or nothing: a refusal names TEI's reason. */
  private async inBatches<I, V>(items: I[], call: (batch: I[], signal: AbortSignal) => Promise<V[]>): Promise<V[]> {
    const batches = chunkIndexes(
      items.map((_, index) => index),
      this.batchSize,
    ).map((indexes) => indexes.map((index) => items[index]));
    const signal = this.closing.signal;
    try {
      const send = (batch: I[]) => this.sender!.send({ send: (tries) => call(batch, tries), signal });
      return (await Promise.all(batches.map(send))).flat();
    } catch (error) {
      if (error instanceof RemoteRequestError) throw invalidInput(`TEI refused the request: ${error.message}`, 'texts');
      throw error;
    }
  }

  private logReady(info: TeiInfo): void {
    const { logger, senderCapacity, url } = this.options;
    const window = this.aimd!.max;
    logger?.log(
      `TEI at ${url} serves "${info.model_id}" (${this.served!.dimensions} dimensions, ${info.max_input_length} ` +
        `tokens): batches of ${this.batchSize}, up to ${window} in flight (max_concurrent_requests ` +
        `${info.max_concurrent_requests})`,
    );
    if (senderCapacity !== undefined && senderCapacity < window * this.batchSize) {
      logger?.warn(
        `The sender keeps at most ${senderCapacity} texts in flight (SENDER_BATCH_SIZE × SENDER_CONCURRENCY), fewer ` +
          `than the ${window * this.batchSize} that ${window} TEI requests of ${this.batchSize} take: raise them to ` +
          'keep TEI busy',
      );
    }
  }
}

function hint(error: unknown): string {
  const status = error instanceof RemoteRequestError ? error.details.status : undefined;
  if (status === 401 || status === 403) return '; check TEI_API_KEY';
  if (status === 404) return '; is TEI_URL the base URL of a text-embeddings-inference server?';
  return '';
}
