import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { EmbeddingError } from '../src/embedding/embedding.errors';
import { EmbeddingModel, firstRefusal } from '../src/embedding/providers/embedding-model';
import { sleep } from '../src/common/backoff';
import { messageOf } from '../src/common/message-of';
import { freePort } from './ports';
import { readBody } from './processes';

/** Faults to inject; counters count down as requests consume them. */
export interface FakeTeiFaults {
  /** Reset the connection of the next N /embed requests (after reading them). */
  resets?: number;
  /** Answer 503 `unhealthy` to the next N /embed requests. */
  unavailable?: number;
  /** Answer 429 `overloaded` to the next N /embed requests. */
  overloaded?: number;
  /** Inputs TEI works on at once, counted per input as TEI does; an /embed that does not fit gets 429 at once. */
  capacity?: number;
  /** Retry-After sent with 429 and 503. */
  retryAfter?: string;
  /** Like a body limit (axum's, plain text): 413 for any /embed with more inputs than this. */
  payloadLimitInputs?: number;
  /** Refuse a whole /embed holding an input that contains `contains`, as TEI refuses one bad input. */
  badInput?: { contains: string; status: 413 | 422 };
  /** Answer the next `count` /embed requests only after `delayMs` (past the client's time limit). */
  slow?: { count: number; delayMs: number };
  /** GET /health answers 503. */
  unhealthy?: boolean;
}

export interface FakeTeiStats {
  requests: number;
  statuses: Record<number, number>;
  /** The most inputs any /embed request held. */
  largestBatch: number;
  /** The most inputs being embedded at once. */
  mostInFlight: number;
}

/**
 * A Hugging Face text-embeddings-inference server for the tests, speaking TEI's HTTP API (`GET /info`, `GET /health`,
 * `POST /embed`, TEI's `{error, error_type}` bodies and status codes), with faults injected on demand. Vectors are
 * real: an in-process provider (the tiny ONNX model) computes them with the options TEI received.
 */
export class FakeTei {
  faults: FakeTeiFaults = {};
  readonly stats: FakeTeiStats = { requests: 0, statuses: {}, largestBatch: 0, mostInFlight: 0 };
  url = '';
  private server?: Server;
  private inFlight = 0;

  constructor(
    private readonly provider: EmbeddingModel,
    /** The provider's id of the model that TEI serves. */
    private readonly localModel: string,
    readonly info: { model_id: string; max_client_batch_size: number; max_concurrent_requests: number },
    private readonly apiKey?: string,
  ) {}

  async start(): Promise<void> {
    const port = await freePort();
    this.server = createServer((req, res) => void this.handle(req, res).catch((error) => this.fail(res, error)));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (this.apiKey && req.headers.authorization !== `Bearer ${this.apiKey}`) return this.answer(res, 401, '');
    if (req.method === 'GET' && req.url === '/info') return this.answer(res, 200, this.describe());
    if (req.method === 'GET' && req.url === '/health') {
      return this.faults.unhealthy ? this.error(res, 503, 'unhealthy', 'unhealthy') : this.answer(res, 200, '');
    }
    if (req.method === 'POST' && req.url === '/embed') return this.embed(JSON.parse(body), req, res);
    return this.answer(res, 404, '');
  }

  private async embed(request: EmbedBody, req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++;
    const inputs = typeof request.inputs === 'string' ? [request.inputs] : request.inputs;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, inputs.length);
    const refusal = this.injectedFault(inputs, req);
    if (refusal === 'reset') return;
    if (refusal) return this.error(res, ...refusal);
    this.inFlight += inputs.length;
    this.stats.mostInFlight = Math.max(this.stats.mostInFlight, this.inFlight);
    try {
      if (this.faults.slow && this.faults.slow.count-- > 0) await sleep(this.faults.slow.delayMs);
      const { vectors, refused } = await this.provider.embed(inputs, {
        truncate: request.truncate ?? false,
        normalize: request.normalize ?? true,
        promptName: request.prompt_name,
        dimensions: request.dimensions,
      });
      // TEI refuses the whole request for one bad input.
      const bad = firstRefusal(refused);
      if (bad) return this.error(res, 413, 'validation', `Input validation error: ${bad.message}`);
      this.answer(
        res,
        200,
        vectors.map((vector) => Array.from(vector!)),
      );
    } catch (error) {
      if (!(error instanceof EmbeddingError) || error.field === undefined) throw error;
      this.error(res, 413, 'validation', `Input validation error: ${error.message}`);
    } finally {
      this.inFlight -= inputs.length;
    }
  }

  /** The fault this request meets, in the order a real deployment would meet them. */
  private injectedFault(inputs: string[], req: IncomingMessage): 'reset' | [number, string, string] | undefined {
    const { faults } = this;
    if (countDown(faults, 'resets')) {
      req.socket.destroy();
      return 'reset';
    }
    if (countDown(faults, 'unavailable')) return [503, 'unhealthy', 'unhealthy'];
    if (countDown(faults, 'overloaded')) return [429, 'overloaded', 'Model is overloaded'];
    if (faults.payloadLimitInputs !== undefined && inputs.length > faults.payloadLimitInputs) {
      return [413, '', 'Failed to buffer the request body: length limit exceeded'];
    }
    const limit = this.info.max_client_batch_size;
    if (inputs.length > limit) {
      return [413, 'validation', `batch size ${inputs.length} > maximum allowed batch size ${limit}`];
    }
    if (faults.capacity !== undefined && this.inFlight + inputs.length > faults.capacity) {
      return [429, 'overloaded', 'Model is overloaded'];
    }
    const bad = faults.badInput;
    if (bad && inputs.some((input) => input.includes(bad.contains))) {
      return bad.status === 422
        ? [422, 'tokenizer', `Tokenization error: cannot tokenize an input holding ${bad.contains}`]
        : [413, 'validation', 'Input validation error: `inputs` must have less than 64 tokens. Given: 9999'];
    }
    return undefined;
  }

  private describe() {
    return {
      model_id: this.info.model_id,
      model_sha: null,
      model_dtype: 'float32',
      model_type: { embedding: { pooling: 'mean' } },
      max_concurrent_requests: this.info.max_concurrent_requests,
      max_input_length: 64,
      max_batch_tokens: 16384,
      max_batch_requests: null,
      max_client_batch_size: this.info.max_client_batch_size,
      auto_truncate: false,
      tokenization_workers: 1,
      version: 'fake-tei',
    };
  }

  /** TEI's error body; an empty error_type stands for a plain-text answer (a body limit's 413). */
  private error(res: ServerResponse, status: number, errorType: string, message: string): void {
    const retryAfter = [429, 503].includes(status) ? this.faults.retryAfter : undefined;
    const headers: Record<string, string> = retryAfter === undefined ? {} : { 'retry-after': retryAfter };
    if (!errorType) return this.answer(res, status, message, headers);
    this.answer(res, status, { error: message, error_type: errorType }, headers);
  }

  private answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.stats.statuses[status] = (this.stats.statuses[status] ?? 0) + 1;
    if (res.destroyed) return;
    const json = typeof body !== 'string';
    res
      .writeHead(status, { 'content-type': json ? 'application/json' : 'text/plain', ...headers })
      .end(json ? JSON.stringify(body) : body);
  }

  private fail(res: ServerResponse, error: unknown): void {
    this.error(res, 424, 'backend', `Inference failed: ${messageOf(error)}`);
  }
}

interface EmbedBody {
  inputs: string | string[];
  truncate?: boolean;
  normalize?: boolean;
  prompt_name?: string;
  dimensions?: number;
}

function countDown(faults: FakeTeiFaults, key: 'resets' | 'unavailable' | 'overloaded'): boolean {
  if (!faults[key]) return false;
  faults[key]--;
  return true;
}
