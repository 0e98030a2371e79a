import { retryAfterMs } from '../../../../common/backoff';
import { EmbedInput, TextToken, TokenIds } from '../../embedding-provider';

/** TEI's `GET /info` (router/src/lib.rs, Info): the fields this client reads. */
export interface TeiInfo {
  model_id: string;
  model_type?: { embedding?: { pooling?: string }; classifier?: unknown; reranker?: unknown };
  /** `float16`, `float32` (TEI's DType); older versions may leave it out. */
  model_dtype?: string;
  max_concurrent_requests: number;
  max_input_length: number;
  max_batch_tokens?: number;
  max_client_batch_size: number;
  version?: string;
}

/** TEI's `POST /embed` body (router/src/http/types.rs, EmbedRequest); `/embed_all` takes it without the last two. */
export interface TeiEmbedBody {
  inputs: EmbedInput[];
  truncate: boolean;
  normalize: boolean;
  prompt_name?: string;
  dimensions?: number;
}

/**
 * What a failed request means to the caller:
 * - `overloaded`: 429, TEI's queue is full: back off and shrink the window;
 * - `transient`: 503, 424, other 5xx, 408, network errors and timeouts: try again later;
 * - `too-large`: 413 for the batch (more inputs than TEI allows, or a body over its payload limit): send less;
 * - `input`: TEI refused an input (413 Validation, 422 Tokenizer, 400 Empty): one input is bad, or the request;
 * - `fatal`: anything else (401, 404…): configuration, not worth retrying now.
 */
export type TeiFailureKind = 'overloaded' | 'transient' | 'too-large' | 'input' | 'fatal';

export class TeiRequestError extends Error {
  constructor(
    message: string,
    readonly kind: TeiFailureKind,
    readonly details: {
      status?: number;
      retryAfterMs?: number;
      /** From TEI's "batch size N > maximum allowed batch size M". */
      maxBatchSize?: number;
      /** The request ran past its time limit. */
      timedOut?: boolean;
      /** No HTTP answer: refused, reset, unreachable. */
      network?: boolean;
    } = {},
  ) {
    super(message);
    this.name = 'TeiRequestError';
  }

  /** A sign that TEI is saturated: the window should shrink. */
  get congestion(): boolean {
    return this.kind === 'overloaded' || this.details.timedOut === true;
  }

  get retryable(): boolean {
    return this.kind === 'overloaded' || this.kind === 'transient';
  }

  /** For metrics: the HTTP status, or what went wrong before one came back. */
  get status(): number | 'network' | 'timeout' | 'error' {
    if (this.details.status !== undefined) return this.details.status;
    if (this.details.timedOut) return 'timeout';
    return this.details.network ? 'network' : 'error';
  }
}

export interface TeiClientOptions {
  url: string;
  apiKey?: string;
  timeoutMs: number;
}

/** Hugging Face text-embeddings-inference's HTTP API: `/info`, `/health`, `/embed`. Failures are TeiRequestErrors. */
export class TeiClient {
  private readonly base: string;

  constructor(private readonly options: TeiClientOptions) {
    this.base = options.url.endsWith('/') ? options.url : `${options.url}/`;
  }

  get url(): string {
    return this.options.url;
  }

  async info(signal?: AbortSignal): Promise<TeiInfo> {
    const info = (await this.request('GET', 'info', undefined, signal)) as TeiInfo;
    if (typeof info?.model_id !== 'string' || !Number.isInteger(info.max_client_batch_size)) {
      throw new TeiRequestError(`${this.url}/info is not TEI's Info: ${JSON.stringify(info).slice(0, 300)}`, 'fatal');
    }
    return info;
  }

  async health(signal?: AbortSignal): Promise<void> {
    await this.request('GET', 'health', undefined, signal, false);
  }

  /** One vector per input, in order. */
  async embed(body: TeiEmbedBody, signal?: AbortSignal): Promise<Float32Array[]> {
    const rows = (await this.rowsPerInput('embed', body, signal)) as number[][];
    return rows.map((row) => Float32Array.from(row));
  }

  /** One vector per token of each input (the hidden states before pooling), in order. */
  async embedAll(
    body: Omit<TeiEmbedBody, 'normalize' | 'dimensions'>,
    signal?: AbortSignal,
  ): Promise<Float32Array[][]> {
    const rows = (await this.rowsPerInput('embed_all', body, signal)) as number[][][];
    return rows.map((tokens) => tokens.map((vector) => Float32Array.from(vector)));
  }

  async tokenize(
    body: { inputs: string[]; add_special_tokens: boolean; prompt_name?: string },
    signal?: AbortSignal,
  ): Promise<TextToken[][]> {
    return (await this.rowsPerInput('tokenize', body, signal)) as TextToken[][];
  }

  async decode(body: { ids: TokenIds[]; skip_special_tokens: boolean }, signal?: AbortSignal): Promise<string[]> {
    const texts = await this.request('POST', 'decode', JSON.stringify(body), signal);
    if (!Array.isArray(texts) || texts.length !== body.ids.length) {
      throw new TeiRequestError(
        `TEI answered ${JSON.stringify(texts).slice(0, 100)} for ${body.ids.length} id lists`,
        'transient',
      );
    }
    return texts as string[];
  }

  /** TEI answers one array per input, in order; anything else is a broken answer, worth another try. */
  private async rowsPerInput(path: string, body: { inputs: unknown[] }, signal?: AbortSignal): Promise<unknown[][]> {
    const rows = await this.request('POST', path, JSON.stringify(body), signal);
    if (!Array.isArray(rows) || rows.length !== body.inputs.length || !rows.every(Array.isArray)) {
      const got = Array.isArray(rows) ? `${rows.length} rows` : typeof rows;
      throw new TeiRequestError(`TEI answered ${got} for ${body.inputs.length} inputs to /${path}`, 'transient');
    }
    return rows as unknown[][];
  }

  /** The answer's JSON (or nothing, when `json` is false); the time limit covers reading the body. */
  private async request(method: string, path: string, body: string | undefined, signal?: AbortSignal, json = true) {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    let response: Response;
    try {
      response = await fetch(new URL(path, this.base), {
        method,
        body,
        headers: this.headers(body !== undefined),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      if (response.ok) return json ? await response.json() : await response.arrayBuffer();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) {
        const message = `TEI did not answer ${method} /${path} within ${this.options.timeoutMs} ms`;
        throw new TeiRequestError(message, 'transient', { timedOut: true });
      }
      if ((error as Error)?.name === 'SyntaxError') {
        throw new TeiRequestError(
          `TEI's answer to ${method} /${path} is not JSON: ${describeNetworkError(error)}`,
          'transient',
        );
      }
      const message = `TEI unreachable (${method} /${path}): ${describeNetworkError(error)}`;
      throw new TeiRequestError(message, 'transient', { network: true });
    }
    throw await failure(response, `${method} /${path}`);
  }

  private headers(json: boolean): Record<string, string> {
    return {
      ...(json ? { 'content-type': 'application/json' } : {}),
      ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
    };
  }
}

/** TEI's `{error, error_type}` body is kept in the message, so it reaches the chunk's last_error. */
async function failure(response: Response, call: string): Promise<TeiRequestError> {
  const text = await response.text().catch(() => '');
  const body = parseErrorBody(text);
  const said = body ? `${body.error_type ?? 'error'}: ${body.error}` : text.slice(0, 500) || response.statusText;
  const message = `TEI answered ${response.status} to ${call} (${said})`;
  const status = response.status;
  const kind = classify(status, body);
  const maxBatchSize = Number(/maximum allowed batch size (\d+)/.exec(body?.error ?? '')?.[1]) || undefined;
  return new TeiRequestError(message, kind, { status, retryAfterMs: retryAfterMs(response), maxBatchSize });
}

function classify(status: number, body?: { error: string; error_type?: string }): TeiFailureKind {
  if (status === 429) return 'overloaded';
  if (status === 408 || status >= 500 || status === 424) return 'transient';
  if (status === 413) {
    const validation = body?.error_type?.toLowerCase() === 'validation';
    // A body limit's 413 is plain text, and TEI's batch size check names the limit: both mean "send fewer".
    return validation && !/maximum allowed batch size/.test(body.error) ? 'input' : 'too-large';
  }
  if (status === 422 || status === 400) return 'input';
  return 'fatal';
}

function parseErrorBody(text: string): { error: string; error_type?: string } | undefined {
  try {
    const body = JSON.parse(text) as { error?: unknown; error_type?: unknown };
    if (typeof body?.error !== 'string') return undefined;
    return { error: body.error, error_type: typeof body.error_type === 'string' ? body.error_type : undefined };
  } catch {
    return undefined;
  }
}

/** fetch's "fetch failed" hides the reason (ECONNRESET, ECONNREFUSED…) in `cause`; duck-typed, as realms may differ. */
function describeNetworkError(error: unknown): string {
  const { message, cause } = (error ?? {}) as { message?: string; cause?: { code?: string; message?: string } };
  if (message === undefined) return String(error);
  return cause ? `${message}: ${cause.code ?? cause.message}` : message;
}
