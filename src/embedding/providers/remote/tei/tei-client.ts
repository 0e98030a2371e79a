import { EmbedInput, TextToken, TokenIds } from '../../embedding-model';
import { readRateLimitHeaders } from '../rate-limit-headers';
import { answerDetails, fetchFailure, RemoteFailureKind, RemoteRequestError } from '../remote-request-error';

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

export interface TeiClientOptions {
  url: string;
  apiKey?: string;
  timeoutMs: number;
}

/** Hugging Face text-embeddings-inference's HTTP API: `/info`, `/health`, `/embed`. Failures are RemoteRequestErrors. */
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
      throw new RemoteRequestError(
        `${this.url}/info is not TEI's Info: ${JSON.stringify(info).slice(0, 300)}`,
        'fatal',
      );
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
      throw new RemoteRequestError(
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
      throw new RemoteRequestError(`TEI answered ${got} for ${body.inputs.length} inputs to /${path}`, 'transient');
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
      throw fetchFailure(error, signal, timeout, {
        timedOut: `TEI did not answer ${method} /${path} within ${this.options.timeoutMs} ms`,
        notJson: (reason) => `TEI's answer to ${method} /${path} is not JSON: ${reason}`,
        unreachable: (reason) => `TEI unreachable (${method} /${path}): ${reason}`,
      });
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
async function failure(response: Response, call: string): Promise<RemoteRequestError> {
  const text = await response.text().catch(() => '');
  const body = parseErrorBody(text);
  const said = body ? `${body.error_type ?? 'error'}: ${body.error}` : text.slice(0, 500) || response.statusText;
  const message = `TEI answered ${response.status} to ${call} (${said})`;
  const maxInputs = Number(/maximum allowed batch size (\d+)/.exec(body?.error ?? '')?.[1]) || undefined;
  const details = { ...answerDetails(response, readRateLimitHeaders(response.headers)), maxInputs };
  return new RemoteRequestError(message, classify(response.status, body), details);
}

function classify(status: number, body?: { error: string; error_type?: string }): RemoteFailureKind {
  if (status === 429) return 'rate-limited';
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
