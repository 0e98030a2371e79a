import { setMaxListeners } from 'node:events';
import { backoffMs, sleep } from '../../../../common/backoff';
import { messageOf } from '../../../../common/message-of';
import { EmbeddingError, invalidInput, modelNotReady, unknownModel } from '../../../embedding.errors';
import {
  assertTexts,
  EmbeddingLogger,
  EmbeddingProvider,
  EmbeddingReadiness,
  EmbedOptions,
  EmbedResult,
  ModelInfo,
  ModelReadiness,
} from '../../embedding-provider';
import { TextTokenizer } from '../../tokenizer/text-tokenizer';
import { l2Normalize } from '../../vector-math';
import { OpenAiClient, OpenAiEmbedBody, OpenAiRequestError } from './openai-client';
import { remoteRefusedEveryInput, RemoteUnavailableError } from './openai-compatible.errors';
import { RateBudget, RateBudgetLimits, RateBudgetSnapshot } from './rate-budget';
import { planRequests, splitForRetry } from './request-plan';
import { RequestSender } from './request-sender';
import { apportion, TokenCounter } from './token-counts';

export interface OpenAiCompatibleProviderOptions {
  /** The name this service serves the model under. */
  id: string;
  /** Base URL up to `/v1`, as OpenAI's SDKs take it. */
  url: string;
  apiKey?: string;
  /** The remote's name of the model. */
  model: string;
  /** Asked of the remote on every request that does not ask for its own; unset: the model's size. */
  dimensions?: number;
  supportsDimensions: boolean;
  maxInputs: number;
  maxRequestTokens: number;
  maxInputTokens: number;
  /** A tokenizer.json of the remote's tokenizer, for exact counts before sending. */
  tokenizerPath?: string;
  budget: RateBudgetLimits;
  timeoutMs: number;
  /** Tries per request for 5xx, 408, network errors and timeouts (429s do not count). */
  maxAttempts: number;
  retryBaseMs: number;
  startupWaitMs: number;
  logger?: EmbeddingLogger;
  /** Every failed request (429s included), e.g. to count them; must not throw. */
  onRequestError?: (status: number | 'network' | 'timeout' | 'error') => void;
  /** For tests: the budget's clock. */
  now?: () => number;
}

/** A request holds at most this many seconds of the tokens-per-minute budget, so pacing stays smooth. */
const MAX_REQUEST_SECONDS_OF_BUDGET = 5;
const WARM_UP_TEXT = 'warm-up';

/** One embed call's texts and what has become of them. */
interface CallState {
  texts: string[];
  counts: number[];
  body: Omit<OpenAiEmbedBody, 'input'>;
  vectors: Map<number, Float32Array>;
  refused: Map<number, string>;
  tokens: number[];
  signal: AbortSignal;
}

/**
 * One model behind an OpenAI-compatible `POST /embeddings` (OpenAI, Azure, Mistral, Voyage, Jina, vLLM, Ollama,
 * Infinity, TEI's /v1, or this service's own). Texts go out in requests of at most `maxInputs` inputs and
 * `maxRequestTokens` tokens, as base64, all through one RateBudget that paces them under the remote's requests and
 * tokens per minute and its concurrency. 429s wait (Retry-After, or the reset headers) without using up attempts;
 * 5xx, timeouts and dropped connections are retried with backoff up to `maxAttempts`, then the call fails as
 * BackendUnavailable (the sender tries its chunks later). A request the remote refuses for its input is halved until
 * the refused input stands alone: only that text is refused, with the remote's message. Token counts per text are
 * the remote's `usage` of each request, apportioned over its texts (see TokenCounter and apportion).
 */
export class OpenAiCompatibleProvider extends EmbeddingProvider {
  private readonly client: OpenAiClient;
  private readonly budget: RateBudget;
  private readonly sender: RequestSender;
  private counter = new TokenCounter();
  private maxInputs: number;
  private status: ModelReadiness;
  private served?: ModelInfo;
  private initialization?: Promise<void>;
  private closing = closingController();

  constructor(private readonly options: OpenAiCompatibleProviderOptions) {
    super();
    this.client = new OpenAiClient({ url: options.url, apiKey: options.apiKey, timeoutMs: options.timeoutMs });
    this.budget = new RateBudget(options.budget, options.now, (message) =>
      options.logger?.warn(`Model "${options.id}" at ${this.client.url}: ${message}`),
    );
    this.sender = new RequestSender(this.client, this.budget, () => this.counter, {
      maxAttempts: options.maxAttempts,
      retryBaseMs: options.retryBaseMs,
      onRequestError: options.onRequestError,
      onHealth: (problem) => (this.status = { ...this.status, error: problem }),
    });
    this.maxInputs = options.maxInputs;
    this.status = { id: options.id, loaded: false, warmedUp: false, device: 'remote' };
  }

  init(): Promise<void> {
    this.initialization ??= this.start();
    return this.initialization;
  }

  async close(): Promise<void> {
    this.closing.abort(modelNotReady(this.options.id));
    this.closing = closingController();
    this.initialization = undefined;
    this.served = undefined;
    this.status = { id: this.options.id, loaded: false, warmedUp: false, device: 'remote' };
  }

  async embed(model: string, texts: string[], options: EmbedOptions = {}): Promise<EmbedResult> {
    const info = this.describe(model);
    assertTexts(texts);
    const body = this.requestBody(options, info);
    // The first failure of one request stops the others of this call: their vectors would be thrown away.
    const failed = new AbortController();
    const call: CallState = {
      texts,
      counts: await this.counter.count(texts),
      body,
      vectors: new Map(),
      refused: new Map(),
      tokens: new Array<number>(texts.length).fill(0),
      signal: AbortSignal.any([this.closing.signal, failed.signal]),
    };
    const indexes = texts.map((_, index) => index);
    try {
      await Promise.all(this.plan(indexes, call).map((part) => this.run(part, call)));
    } catch (error) {
      failed.abort(error);
      throw error;
    }
    const finish = (vector?: Float32Array) => (vector && options.normalize === true ? l2Normalize(vector) : vector);
    return {
      vectors: indexes.map((index) => finish(call.vectors.get(index))),
      refused: refusals(texts.length, call.refused),
      tokenCounts: call.tokens,
    };
  }

  /** The tokenizer's count or the estimate, each corrected by what the remote's usage has said so far. */
  async countTokens(model: string, texts: string[]): Promise<number[]> {
    this.describe(model);
    assertTexts(texts);
    return (await this.counter.count(texts)).map((count) => this.counter.estimate([count]));
  }

  describe(model: string): ModelInfo {
    if (model !== this.options.id) throw unknownModel(model, [this.options.id]);
    if (!this.served) throw modelNotReady(model);
    return this.served;
  }

  models(): ModelInfo[] {
    return this.served ? [this.served] : [];
  }

  /** No request to the remote (it may bill or rate-limit one): ready once warmed up, unless auth or the URL failed. */
  async readiness(): Promise<EmbeddingReadiness> {
    return { ready: this.served !== undefined && this.status.error === undefined, models: [{ ...this.status }] };
  }

  /** The budget now: its limits (configured, or lowered by the remote), requests in flight and waiting. */
  budgetSnapshot(): RateBudgetSnapshot {
    return this.budget.snapshot();
  }

  private async start(): Promise<void> {
    if (this.options.tokenizerPath) this.counter = new TokenCounter(TextTokenizer.fromFile(this.options.tokenizerPath));
    const deadline = Date.now() + this.options.startupWaitMs;
    const body = { model: this.options.model, dimensions: this.configuredDimensions() };
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.sender.send({ ...body, input: [WARM_UP_TEXT] }, [1], this.closing.signal, 1);
        return this.ready(answer.vectors[0].length);
      } catch (error) {
        const waitMs = Math.min(backoffMs(attempt, 250, 5_000), deadline - Date.now());
        const transient = error instanceof RemoteUnavailableError && error.transient;
        if (!transient || waitMs <= 0) throw this.failedToStart(error);
        this.options.logger?.warn(`Waiting for ${this.client.url} (model "${this.options.id}"): ${messageOf(error)}`);
        await sleep(waitMs, this.closing.signal);
      }
    }
  }

  private ready(dimensions: number): void {
    this.served = {
      id: this.options.id,
      dimensions,
      maxTokens: this.options.maxInputTokens,
      pooling: 'mean',
      // OpenAI-compatible servers answer unit vectors; normalize: true re-normalises here all the same.
      normalize: true,
      prompts: {},
      defaultPromptName: null,
      device: 'remote',
      // An OpenAI-compatible API does not say what precision its model computes in.
      dtype: 'unknown',
    };
    this.status = { ...this.status, loaded: true, warmedUp: true, error: undefined };
    const { requestsPerMinute, tokensPerMinute, concurrency } = this.budget.snapshot();
    this.options.logger?.log(
      `Embedding model "${this.options.id}" ready: "${this.options.model}" at ${this.client.url}, ${dimensions} ` +
        `dimensions; budget ${requestsPerMinute ?? 'unlimited'} requests/min, ${tokensPerMinute ?? 'unlimited'} ` +
        `tokens/min, ${concurrency} in flight`,
    );
  }

  private failedToStart(error: unknown): unknown {
    this.status = { ...this.status, error: messageOf(error) };
    if (!(error instanceof EmbeddingError)) return error;
    const message = `Model "${this.options.id}" at ${this.client.url} cannot serve: ${error.message}`;
    return new RemoteUnavailableError(message, false);
  }

  private requestBody(options: EmbedOptions, info: ModelInfo): Omit<OpenAiEmbedBody, 'input'> {
    if (options.prompt !== undefined || options.promptName !== undefined) {
      const field = options.prompt !== undefined ? 'prompt' : 'promptName';
      throw invalidInput(
        `${field}: model "${info.id}" is served by an OpenAI-compatible API, which takes no prompts`,
        field,
      );
    }
    const { dimensions } = options;
    if (dimensions === undefined) return { model: this.options.model, dimensions: this.configuredDimensions() };
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > info.dimensions) {
      const message = `dimensions must be an integer from 1 to ${info.dimensions} for model "${info.id}", got ${dimensions}`;
      throw invalidInput(message, 'dimensions');
    }
    if (!this.options.supportsDimensions && dimensions !== info.dimensions) {
      throw invalidInput(`dimensions: model "${info.id}" answers ${info.dimensions} dimensions only`, 'dimensions');
    }
    return { model: this.options.model, dimensions: this.options.supportsDimensions ? dimensions : undefined };
  }

  private configuredDimensions(): number | undefined {
    return this.options.supportsDimensions ? this.options.dimensions : undefined;
  }

  /** Requests of at most maxInputs texts and the request token cap (by the corrected estimate). */
  private plan(indexes: number[], call: CallState): number[][] {
    const { tokensPerMinute } = this.budget.snapshot();
    const budgetCap = tokensPerMinute ? Math.ceil((tokensPerMinute * MAX_REQUEST_SECONDS_OF_BUDGET) / 60) : Infinity;
    const maxTokens = Math.min(this.options.maxRequestTokens, budgetCap);
    return planRequests(indexes, (index) => this.counter.estimate([call.counts[index]]), this.maxInputs, maxTokens);
  }

  /** One planned request; a refusal of its input splits it until each refused text stands alone. */
  private async run(indexes: number[], call: CallState): Promise<void> {
    const counts = indexes.map((index) => call.counts[index]);
    try {
      const input = indexes.map((index) => call.texts[index]);
      const answer = await this.sender.send({ ...call.body, input }, counts, call.signal);
      const tokens =
        answer.promptTokens === undefined
          ? counts.map((count) => this.counter.estimate([count]))
          : apportion(answer.promptTokens, counts);
      indexes.forEach((index, position) => {
        call.vectors.set(index, answer.vectors[position]);
        call.tokens[index] = tokens[position];
      });
    } catch (error) {
      if (!(error instanceof OpenAiRequestError)) throw error;
      if (indexes.length === 1) return void call.refused.set(indexes[0], error.message);
      this.learnBatchLimit(error);
      await Promise.all(splitForRetry(indexes, error.details.maxInputs).map((part) => this.run(part, call)));
    }
  }

  /** The remote named a smaller batch limit than configured: keep to it from now. */
  private learnBatchLimit(failure: OpenAiRequestError): void {
    const limit = failure.details.maxInputs;
    if (!limit || limit >= this.maxInputs) return;
    this.options.logger?.warn(`${this.client.url} takes at most ${limit} inputs per request; was ${this.maxInputs}`);
    this.maxInputs = limit;
  }
}

/** Aborts every request in flight on close. */
function closingController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * Each text the remote refused on its own, as an error naming its index. When every one of several texts was refused
 * for the same reason, the request is at fault, not the texts: the whole call fails.
 */
function refusals(count: number, refused: Map<number, string>): Map<number, EmbeddingError> {
  const reasons = new Set(refused.values());
  if (refused.size === count && count > 1 && reasons.size === 1) throw remoteRefusedEveryInput([...reasons][0]);
  const errors = [...refused].map(([index, reason]) => {
    const error = invalidInput(`the remote refused texts[${index}]: ${reason}`, 'texts', index);
    return [index, error] as const;
  });
  return new Map(errors.sort(([a], [b]) => a - b));
}
