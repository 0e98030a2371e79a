import { setMaxListeners } from 'node:events';
import { backoffMs, sleep } from '../../../../common/backoff';
import { messageOf } from '../../../../common/message-of';
import {
  EmbeddingError,
  invalidConfiguration,
  invalidInput,
  modelNotReady,
  unknownModel,
} from '../../../embedding.errors';
import {
  assertInputs,
  assertTexts,
  EmbedInput,
  EmbeddingLogger,
  EmbeddingProvider,
  EmbeddingReadiness,
  EmbedOptions,
  EmbedResult,
  ModelInfo,
  ModelReadiness,
  TextToken,
  TokenIds,
  TokenizeOptions,
} from '../../embedding-provider';
import { AimdWindow, AimdWindowSnapshot } from './aimd-window';
import { TeiClient, TeiInfo, TeiRequestError } from './tei-client';
import { requestSettings, toModelInfo } from './tei-mapping';
import { chunkIndexes, embedSplitting, SplitResult } from './tei-splitting';
import { teiModelMismatch, teiUnavailable } from './tei.errors';

export interface TeiEmbeddingProviderOptions {
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
  /** The EMBEDDING_MODELS entry, when set: it must be TEI's model_id. */
  expectedModel?: string;
  /** Texts the sender keeps in flight (batch size × concurrency), to warn when it cannot fill the window. */
  senderCapacity?: number;
  logger?: EmbeddingLogger;
  /** Called for every failed request to TEI (before any retry), e.g. to count them; must not throw. */
  onRequestError?: (status: number | 'network' | 'timeout' | 'error') => void;
}

const WARM_UP_TEXT = 'warm-up';

/**
 * Embeds with a Hugging Face text-embeddings-inference server: the one model TEI serves (its `/info` model_id).
 * Texts go out in batches of at most TEI's max_client_batch_size, many at once, within an AIMD window (aimd-window.ts)
 * that shrinks on 429s and timeouts and grows back with successes, so a GPU behind TEI stays busy without being
 * flooded. 429, 503, 5xx, network errors and timeouts are retried here with backoff (honouring Retry-After), then
 * surface as BackendUnavailable, which the sender retries later. A batch TEI refuses (413, 422) is split until each
 * refused input stands alone, and comes back refused with TEI's reason while the rest are embedded.
 */
export class TeiEmbeddingProvider extends EmbeddingProvider {
  private readonly client: TeiClient;
  private status: ModelReadiness;
  private served?: ModelInfo;
  private aimd?: AimdWindow;
  private batchSize = 1;
  private initialization?: Promise<void>;
  private closing = closingController();

  constructor(private readonly options: TeiEmbeddingProviderOptions) {
    super();
    this.client = new TeiClient({ url: options.url, apiKey: options.apiKey, timeoutMs: options.timeoutMs });
    this.status = this.initialStatus();
  }

  init(): Promise<void> {
    this.initialization ??= this.start();
    return this.initialization;
  }

  async close(): Promise<void> {
    this.closing.abort(modelNotReady(this.status.id));
    this.closing = closingController();
    this.initialization = undefined;
    this.served = undefined;
    this.status = this.initialStatus();
  }

  /** Async so that an unknown or unready model rejects like every other failure, never throws synchronously. */
  async embed(model: string, texts: string[], options: EmbedOptions = {}): Promise<EmbedResult> {
    assertTexts(texts);
    return this.embedInputs(model, texts, options);
  }

  /** TEI takes token ids in `inputs` too (and decodes them when a prompt applies). */
  async embedInputs(model: string, inputs: EmbedInput[], options: EmbedOptions = {}): Promise<EmbedResult> {
    const settings = requestSettings(options, this.describe(model));
    assertInputs(inputs);
    return this.splitting(inputs, (batch, signal) => this.client.embed({ ...settings, inputs: batch }, signal));
  }

  /** TEI's /embed_all. */
  async embedTokens(model: string, inputs: EmbedInput[], options: EmbedOptions = {}) {
    const { truncate, prompt_name } = requestSettings({ ...options, dimensions: undefined }, this.describe(model));
    assertInputs(inputs);
    return this.splitting(inputs, (batch, signal) =>
      this.client.embedAll({ inputs: batch, truncate, prompt_name }, signal),
    );
  }

  /** TEI's /tokenize, in batches TEI takes; a refusal (unknown prompt…) names TEI's reason. */
  async tokenize(model: string, texts: string[], options: TokenizeOptions = {}): Promise<TextToken[][]> {
    const { prompt_name } = requestSettings(
      { promptName: options.promptName, prompt: options.prompt },
      this.describe(model),
    );
    const add_special_tokens = options.addSpecialTokens ?? true;
    return this.inBatches(texts, (inputs, signal) =>
      this.client.tokenize({ inputs, add_special_tokens, prompt_name }, signal),
    );
  }

  /** TEI's /decode; TEI drops ids outside its vocabulary, which it does not tell. */
  async decode(model: string, ids: TokenIds[], skipSpecialTokens: boolean): Promise<string[]> {
    this.describe(model);
    return this.inBatches(ids, (lists, signal) =>
      this.client.decode({ ids: lists, skip_special_tokens: skipSpecialTokens }, signal),
    );
  }

  describe(model: string): ModelInfo {
    if (this.served?.id === model) return this.served;
    if (this.served || (this.status.loaded && this.status.id !== model)) {
      throw unknownModel(model, [this.status.id]);
    }
    throw modelNotReady(model);
  }

  models(): ModelInfo[] {
    return this.served ? [this.served] : [];
  }

  /** Asks TEI's GET /health, so readiness follows TEI going down and coming back. */
  async readiness(signal?: AbortSignal): Promise<EmbeddingReadiness> {
    if (this.served) await this.checkHealth(signal);
    return { ready: this.served !== undefined && this.status.error === undefined, models: [{ ...this.status }] };
  }

  /** The in-flight window now: its size, ceiling, requests in flight, decreases so far. */
  window(): AimdWindowSnapshot | undefined {
    return this.aimd?.snapshot();
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

  private async start(): Promise<void> {
    try {
      const info = await this.waitForInfo();
      this.checkModel(info);
      this.batchSize = Math.max(1, Math.min(this.options.batchSize || Infinity, info.max_client_batch_size));
      const derived = Math.floor(info.max_concurrent_requests / this.batchSize);
      this.aimd = new AimdWindow({ max: Math.max(1, this.options.maxConcurrency || derived) });
      this.status = { id: info.model_id, loaded: true, warmedUp: false, device: 'remote' };
      const warmUp = { inputs: [WARM_UP_TEXT], truncate: true, normalize: true };
      const [vector] = await this.send((signal) => this.client.embed(warmUp, signal), this.closing.signal);
      this.served = toModelInfo(info, vector.length);
      this.status = { ...this.status, warmedUp: true };
      this.logReady(info);
    } catch (error) {
      this.status = { ...this.status, error: messageOf(error) };
      throw error;
    }
  }

  /** TEI answers only once its model is loaded, which can take minutes on a fresh GPU node: wait, within reason. */
  private async waitForInfo(): Promise<TeiInfo> {
    const deadline = Date.now() + this.options.startupWaitMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.client.info(this.closing.signal);
      } catch (error) {
        const waitMs = Math.min(backoffMs(attempt, 250, 5_000), deadline - Date.now());
        if (!(error instanceof TeiRequestError) || !error.retryable || waitMs <= 0) {
          throw teiUnavailable(`TEI at ${this.options.url} cannot serve: ${messageOf(error)}${hint(error)}`);
        }
        this.options.logger?.warn(`Waiting for TEI at ${this.options.url}: ${messageOf(error)}`);
        await sleep(waitMs, this.closing.signal);
      }
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
   * Embeds in batches of at most TEI's batch size, splitting a batch TEI refuses until each refused input stands
   * alone (refused with TEI's reason); the others are answered.
   */
  private async splitting<V>(
    inputs: EmbedInput[],
    call: (batch: EmbedInput[], signal: AbortSignal) => Promise<V[]>,
  ): Promise<EmbedResult<V>> {
    const send = (indexes: number[], signal: AbortSignal) =>
      this.send(
        (tries) =>
          call(
            indexes.map((index) => inputs[index]),
            tries,
          ),
        signal,
      );
    const indexes = inputs.map((_, index) => index);
    const result = await embedSplitting(indexes, this.batchSize, send, this.closing.signal);
    return {
      vectors: indexes.map((index) => result.vectors.get(index)),
      refused: refusals(inputs.length, result),
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
      return (await Promise.all(batches.map((batch) => this.send((tries) => call(batch, tries), signal)))).flat();
    } catch (error) {
      if (error instanceof TeiRequestError) throw invalidInput(`TEI refused the request: ${error.message}`, 'texts');
      throw error;
    }
  }

  /** One request, retried while TEI is busy or unwell; each try holds a window slot only while it is in flight. */
  private async send<V>(request: (signal: AbortSignal) => Promise<V>, signal: AbortSignal): Promise<V> {
    const window = this.aimd!;
    for (let attempt = 1; ; attempt++) {
      const slot = await window.acquire(signal);
      try {
        const answer = await request(signal);
        slot.release('success');
        return answer;
      } catch (error) {
        const failure = error instanceof TeiRequestError && !signal.aborted ? error : undefined;
        slot.release(failure?.congestion ? 'congestion' : 'neutral');
        if (!failure) throw signal.aborted ? signal.reason : error;
        this.options.onRequestError?.(failure.status);
        this.learnBatchLimit(failure);
        if (failure.kind === 'fatal') throw teiUnavailable(failure.message + hint(failure));
        if (!failure.retryable) throw failure;
        if (attempt >= this.options.maxAttempts) {
          const message = `${failure.message}; gave up after ${attempt} attempts`;
          throw teiUnavailable(message);
        }
        const waitMs = failure.details.retryAfterMs ?? backoffMs(attempt - 1, this.options.retryBaseMs);
        await sleep(waitMs, signal);
      }
    }
  }

  /** TEI named a smaller batch limit than its /info said (it was restarted with another one): keep to it from now. */
  private learnBatchLimit(failure: TeiRequestError): void {
    const limit = failure.details.maxBatchSize;
    if (!limit || limit >= this.batchSize) return;
    this.options.logger?.warn(
      `TEI at ${this.options.url} takes at most ${limit} inputs per request now; was ${this.batchSize}`,
    );
    this.batchSize = limit;
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

  private initialStatus(): ModelReadiness {
    return { id: this.options.expectedModel ?? `TEI at ${this.options.url}`, loaded: false, warmedUp: false };
  }
}

/** Aborts every request in flight on close; each embed call in progress listens to it. */
function closingController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * Each input TEI refused on its own, as an error naming its index. When every input of several was refused for one
 * reason, the request is at fault, not the texts: the whole call fails.
 */
function refusals<V>(count: number, { refused }: SplitResult<V>): Map<number, EmbeddingError> {
  const reasons = new Set(refused.values());
  if (refused.size === count && count > 1 && reasons.size === 1) {
    throw invalidInput(`TEI refused every input: ${[...reasons][0]}`, 'texts');
  }
  const errors = [...refused].map(([index, reason]) => {
    const error = invalidInput(`TEI refused texts[${index}]: ${reason}`, 'texts', index);
    return [index, error] as const;
  });
  return new Map(errors.sort(([a], [b]) => a - b));
}

function hint(error: unknown): string {
  const status = error instanceof TeiRequestError ? error.details.status : undefined;
  if (status === 401 || status === 403) return '; check TEI_API_KEY';
  if (status === 404) return '; is TEI_URL the base URL of a text-embeddings-inference server?';
  return '';
}
