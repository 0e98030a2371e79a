import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { encodeFloat32Base64 } from '../src/common/float32-base64';
import { messageOf } from '../src/common/message-of';
import { EmbeddingModel, firstRefusal } from '../src/embedding/providers/embedding-model';
import { freePort } from './ports';
import { readBody } from './processes';

/** Faults to inject; counters count down as requests consume them. */
export interface FakeOpenAiFaults {
  /** Tokens per minute, enforced as a token bucket holding `burstSeconds` worth (429 + Retry-After beyond it). */
  tokensPerMinute?: number;
  /** Default 3. */
  burstSeconds?: number;
  /** Send x-ratelimit-limit-tokens, -remaining-tokens and -reset-tokens with every answer. */
  rateLimitHeaders?: boolean;
  /** Refuse, with 400 as OpenAI does, any request holding an input that contains this. */
  badInput?: string;
  /** Drop the connection of the next N requests (after reading them, before embedding). */
  drops?: number;
  /** Answer 503 to the next N requests. */
  unavailable?: number;
  /** Most inputs per request (413 beyond, naming the limit as TEI does). */
  maxInputs?: number;
  /** Answer 401 to every request, as for a revoked key. */
  unauthorized?: boolean;
}

export interface FakeOpenAiStats {
  requests: number;
  statuses: Record<number, number>;
  /** Tokens of the requests answered 200, and when (ms since start), for rates. */
  acceptedTokens: number;
  accepted: { at: number; tokens: number }[];
  /** How many times each input text was embedded in an answered request. */
  embedded: Map<string, number>;
  largestBatch: number;
}

/**
 * An OpenAI-compatible embeddings server for the tests (`POST /v1/embeddings`, OpenAI's bodies and headers) that
 * enforces a tokens-per-minute limit and injects faults. Vectors and token counts are real: an in-process provider
 * (the tiny ONNX model) computes them.
 */
export class FakeOpenAi {
  faults: FakeOpenAiFaults = {};
  stats: FakeOpenAiStats = emptyStats();
  url = '';
  private server?: Server;
  private bucket = { level: 0, at: 0, limit: 0 };
  private readonly started = performance.now();

  constructor(
    private readonly provider: EmbeddingModel,
    private readonly localModel: string,
  ) {}

  async start(): Promise<void> {
    const port = await freePort();
    this.server = createServer((req, res) => void this.handle(req, res).catch((error) => this.fail(res, error)));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${port}/v1`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  reset(faults: FakeOpenAiFaults): void {
    this.faults = faults;
    this.stats = emptyStats();
    const limit = faults.tokensPerMinute ?? 0;
    this.bucket = { level: this.capacity(limit), at: performance.now(), limit };
  }

  /** The limit changes at once, as when a provider lowers an account's tier. */
  setTokensPerMinute(limit: number): void {
    this.refill();
    this.faults.tokensPerMinute = limit;
    this.bucket.limit = limit;
    this.bucket.level = Math.min(this.bucket.level, this.capacity(limit));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    if (req.method !== 'POST' || req.url !== '/v1/embeddings') return this.answer(res, 404, error('Not found', null));
    this.stats.requests++;
    const body = JSON.parse(text) as { model: string; input: string[]; encoding_format?: string; dimensions?: number };
    const inputs = body.input;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, inputs.length);
    if (this.faults.unauthorized) {
      return this.answer(res, 401, error('Incorrect API key provided', null, 'invalid_api_key'));
    }
    if (countDown(this.faults, 'drops')) return void req.socket.destroy();
    if (countDown(this.faults, 'unavailable')) return this.answer(res, 503, error('The server is overloaded', null));
    const max = this.faults.maxInputs;
    if (max !== undefined && inputs.length > max) {
      return this.answer(res, 413, error(`batch size ${inputs.length} > maximum allowed batch size ${max}`, 'input'));
    }
    const bad = this.faults.badInput;
    const badIndex = bad === undefined ? -1 : inputs.findIndex((input) => input.includes(bad));
    if (badIndex >= 0) {
      return this.answer(res, 400, error(`'$.input[${badIndex}]' is invalid: it holds forbidden text`, 'input'));
    }
    const result = await this.provider.embed(inputs, { truncate: true, dimensions: body.dimensions });
    const refused = firstRefusal(result.refused);
    if (refused) return this.answer(res, 400, error(refused.message, 'input'));
    const tokens = result.tokenCounts!.reduce((sum, count) => sum + count, 0);
    const waitMs = this.take(tokens);
    if (waitMs > 0) {
      const retryAfter = String(Math.max(1, Math.ceil(waitMs / 1000)));
      const message = `Rate limit reached for tokens per min (TPM): Limit ${this.bucket.limit}, Requested ${tokens}`;
      return this.answer(res, 429, error(message, null, 'rate_limit_exceeded'), { 'retry-after': retryAfter });
    }
    this.stats.acceptedTokens += tokens;
    this.stats.accepted.push({ at: performance.now() - this.started, tokens });
    inputs.forEach((input) => this.stats.embedded.set(input, (this.stats.embedded.get(input) ?? 0) + 1));
    const data = result.vectors.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: body.encoding_format === 'base64' ? encodeFloat32Base64(vector!) : Array.from(vector!),
    }));
    this.answer(res, 200, {
      object: 'list',
      data,
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  private capacity(limit: number): number {
    return (limit * (this.faults.burstSeconds ?? 3)) / 60;
  }

  private refill(): void {
    const now = performance.now();
    const { limit } = this.bucket;
    this.bucket.level = Math.min(this.capacity(limit), this.bucket.level + ((now - this.bucket.at) * limit) / 60_000);
    this.bucket.at = now;
  }

  /** 0 when the request fits (taken), else how long until it would. */
  private take(tokens: number): number {
    if (!this.faults.tokensPerMinute) return 0;
    this.refill();
    const needed = Math.min(tokens, this.capacity(this.bucket.limit));
    if (this.bucket.level < needed) return ((needed - this.bucket.level) * 60_000) / this.bucket.limit;
    this.bucket.level -= tokens;
    return 0;
  }

  private limitHeaders(): Record<string, string> {
    if (!this.faults.rateLimitHeaders || !this.faults.tokensPerMinute) return {};
    this.refill();
    const { level, limit } = this.bucket;
    const toFull = Math.max(0, ((this.capacity(limit) - level) * 60_000) / limit);
    return {
      'x-ratelimit-limit-tokens': String(limit),
      'x-ratelimit-remaining-tokens': String(Math.max(0, Math.floor(level))),
      'x-ratelimit-reset-tokens': `${Math.ceil(toFull)}ms`,
    };
  }

  private answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.stats.statuses[status] = (this.stats.statuses[status] ?? 0) + 1;
    if (res.destroyed) return;
    res
      .writeHead(status, { 'content-type': 'application/json', ...this.limitHeaders(), ...headers })
      .end(JSON.stringify(body));
  }

  private fail(res: ServerResponse, caught: unknown): void {
    this.answer(res, 500, error(`The server had an error: ${messageOf(caught)}`, null));
  }
}

function error(message: string, param: string | null, code: string | null = null) {
  return { error: { message, type: 'invalid_request_error', param, code } };
}

function emptyStats(): FakeOpenAiStats {
  return { requests: 0, statuses: {}, acceptedTokens: 0, accepted: [], embedded: new Map(), largestBatch: 0 };
}

function countDown(faults: FakeOpenAiFaults, key: 'drops' | 'unavailable'): boolean {
  if (!faults[key]) return false;
  faults[key]--;
  return true;
}
