import { messageOf } from '../../../../common/message-of';
import { EmbeddingError, invalidInput, Terms, unsupportedOperation } from '../../../embedding.errors';
import {
  EmbedInput,
  EmbeddingLogger,
  EmbedOptions,
  EmbedResult,
  isText,
  ModelInfo,
  TokenCounting,
} from '../../embedding-model';
import { TextTokenizer } from '../../tokenizer/text-tokenizer';
import { l2Normalize } from '../../vector-math';
import { RateBudget, RateBudgetLimits, RateBudgetSnapshot } from '../rate-budget';
import { refusalErrors, sendIsolatingRefusals } from '../refusal-isolation';
import { RemoteUnavailableError } from '../remote.errors';
import { RemoteModel } from '../remote-model';
import { RemoteRequestError } from '../remote-request-error';
import { RemoteSender } from '../remote-sender';
import { budgetLimiter } from '../request-limiter';
import { OpenAiClient, OpenAiEmbedAnswer, OpenAiEmbedBody } from './openai-client';
import { planRequests } from './request-plan';
import { apportion, TokenCounter } from './token-counts';

export interface OpenAiCompatibleModelOptions {
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
  tokens: number[];
}

/**
 * One model behind an OpenAI-compatible `POST /embeddings` (OpenAI, Azure, Mistral, Voyage, Jina, vLLM, Ollama,
 * Infinity, TEI's /v1, or this service's own). Texts go out in requests of at most `maxInputs` inputs and
 * `maxRequestTokens` tokens, as base64, all through one RateBudget that paces them under the remote's requests and
 * tokens per minute and its concurrency (429s wait without using up attempts). Retries and refusal isolation are the
 * remote back ends' shared ones (RemoteSender, sendIsolatingRefusals). Token counts per text are the remote's
 * `usage` of each request, apportioned over its texts (see TokenCounter and apportion).
 */
export class OpenAiCompatibleModel extends RemoteModel implements TokenCounting {
  private readonly client: OpenAiClient;
  private readonly budget: RateBudget;
  private readonly sender: RemoteSender;
  private counter: TokenCounter;

  constructor(private readonly options: OpenAiCompatibleModelOptions) {
    const initialStatus = { id: options.id, loaded: false, warmedUp: false, device: 'remote' as const };
    super({ ...options, initialStatus }, options.maxInputs);
    this.counter = new TokenCounter(options.maxInputTokens);
    this.client = new OpenAiClient({ url: options.url, apiKey: options.apiKey, timeoutMs: options.timeoutMs });
    this.budget = new RateBudget(options.budget, options.now, (message) =>
      options.logger?.warn(`Model "${options.id}" at ${this.client.url}: ${message}`),
    );
    this.sender = new RemoteSender(budgetLimiter(this.budget, options.retryBaseMs), {
      ...options,
      hint,
      onFatal: (message) => (this.status = { ...this.status, error: `${this.client.url}: ${message}` }),
    });
  }

  async embed(inputs: EmbedInput[], options: EmbedOptions = {}): Promise<EmbedResult> {
    const info = this.info();
    if (!inputs.every(isText)) throw unsupportedOperation(this.id, 'token ids as input');
    const texts = inputs;
    const call: CallState = {
      texts,
      counts: await this.counter.count(texts),
      body: this.requestBody(options, info),
      vectors: new Map(),
      tokens: new Array<number>(texts.length).fill(0),
    };
    const refused = await sendIsolatingRefusals(
      this.plan(
        texts.map((_, index) => index),
        call,
      ),
      (indexes, signal) => this.send(indexes, call, signal),
      { signal: this.closing.signal, onLimit: (limit) => this.learnBatchLimit(limit) },
    );
    const finish = (vector?: Float32Array) => (vector && options.normalize === true ? l2Normalize(vector) : vector);
    return {
      vectors: texts.map((_, index) => finish(call.vectors.get(index))),
      refused: refusalErrors('the remote', texts.length, refused),
      tokenCounts: call.tokens,
    };
  }

  /** The tokenizer's count or the estimate, each corrected by what the remote's usage has said so far. */
  async countTokens(texts: string[]): Promise<number[]> {
    this.info();
    return (await this.counter.count(texts)).map((count) => this.counter.estimate([count]));
  }

  /** The budget now: its limits (configured, or lowered by the remote), requests in flight and waiting. */
  budgetSnapshot(): RateBudgetSnapshot {
    return this.budget.snapshot();
  }

  protected async start(): Promise<void> {
    const { tokenizerPath, maxInputTokens } = this.options;
    if (tokenizerPath) this.counter = new TokenCounter(maxInputTokens, TextTokenizer.fromFile(tokenizerPath));
    const body = { model: this.options.model, dimensions: this.configuredDimensions(), input: [WARM_UP_TEXT] };
    // The warm-up's usage teaches the counter like any answer, so it is weighed by the text's own count.
    const counts = await this.counter.count([WARM_UP_TEXT]);
    const answer = await this.waitForServer((signal) => this.request(body, counts, signal, 1), {
      mayPass: (error) => error instanceof RemoteUnavailableError && error.transient,
      giveUp: (error) => this.failedToStart(error),
      waiting: (error) => `Waiting for ${this.client.url} (model "${this.options.id}"): ${messageOf(error)}`,
    });
    this.ready(this.describe(answer.vectors[0].length));
    const { requestsPerMinute, tokensPerMinute, concurrency } = this.budget.snapshot();
    this.options.logger?.log(
      `Embedding model "${this.options.id}" ready: "${this.options.model}" at ${this.client.url}, ` +
        `${this.served!.dimensions} dimensions; budget ${requestsPerMinute ?? 'unlimited'} requests/min, ` +
        `${tokensPerMinute ?? 'unlimited'} tokens/min, ${concurrency} in flight`,
    );
  }

  private describe(dimensions: number): ModelInfo {
    return {
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
  }

  private failedToStart(error: unknown): unknown {
    if (!(error instanceof EmbeddingError)) return error;
    const message = `Model "${this.options.id}" at ${this.client.url} cannot serve: ${error.message}`;
    return new RemoteUnavailableError(message, false);
  }

  /** One request through the budget; every answer also teaches the token counter, and says the remote is well. */
  private async request(body: OpenAiEmbedBody, counts: number[], signal: AbortSignal, attempts?: number) {
    const answer = await this.sender.send<OpenAiEmbedAnswer>({
      send: (tries) => this.client.embed(body, tries),
      cost: () => this.counter.estimate(counts),
      answered: ({ promptTokens, limits }) => ({ cost: promptTokens, limits }),
      signal,
      attempts,
    });
    if (answer.promptTokens !== undefined) this.counter.learn(counts, answer.promptTokens);
    this.status = { ...this.status, error: undefined };
    return answer;
  }

  /** One planned request (or a part of one, after a refusal): its vectors and tokens go into the call's state. */
  private async send(indexes: number[], call: CallState, signal: AbortSignal): Promise<void> {
    const counts = indexes.map((index) => call.counts[index]);
    const input = indexes.map((index) => call.texts[index]);
    const answer = await this.request({ ...call.body, input }, counts, signal);
    const tokens =
      answer.promptTokens === undefined
        ? counts.map((count) => this.counter.estimate([count]))
        : apportion(answer.promptTokens, counts);
    indexes.forEach((index, position) => {
      call.vectors.set(index, answer.vectors[position]);
      call.tokens[index] = tokens[position];
    });
  }

  private requestBody(options: EmbedOptions, info: ModelInfo): Omit<OpenAiEmbedBody, 'input'> {
    if (options.prompt !== undefined || options.promptName !== undefined) {
      const field = options.prompt !== undefined ? 'prompt' : 'promptName';
      const message = (terms: Terms) =>
        `${terms.option(field)}: model "${info.id}" is served by an OpenAI-compatible API, which takes no prompts`;
      throw invalidInput(message, field);
    }
    const { dimensions } = options;
    if (dimensions === undefined) return { model: this.options.model, dimensions: this.configuredDimensions() };
    if (!this.options.supportsDimensions && dimensions !== info.dimensions) {
      throw invalidInput(`dimensions: model "${info.id}" answers ${info.dimensions} dimensions only`, 'dimensions');
    }
    return { model: this.options.model, dimensions: this.options.supportsDimensions ? dimensions : undefined };
  }

  private configuredDimensions(): number | undefined {
    return this.options.supportsDimensions ? this.options.dimensions : undefined;
  }

  /** Requests of at most the batch limit and the request token cap (by the corrected estimate). */
  private plan(indexes: number[], call: CallState): number[][] {
    const { tokensPerMinute } = this.budget.snapshot();
    const budgetCap = tokensPerMinute ? Math.ceil((tokensPerMinute * MAX_REQUEST_SECONDS_OF_BUDGET) / 60) : Infinity;
    const maxTokens = Math.min(this.options.maxRequestTokens, budgetCap);
    return planRequests(indexes, (index) => this.counter.estimate([call.counts[index]]), this.batchSize, maxTokens);
  }
}

function hint(failure: RemoteRequestError): string {
  const status = failure.details.status;
  if (status === 401 || status === 403) return ' (check the API key: api_key_env or api_key_file)';
  if (status === 404) return ' (is url the API base, ending in /v1, and model a name the remote serves?)';
  return '';
}
