import { decodeFloat32Base64 } from '../../../../common/float32-base64';
import { RateLimitHeaders, readRateLimitHeaders } from '../rate-limit-headers';
import { answerDetails, fetchFailure, RemoteFailureKind, RemoteRequestError } from '../remote-request-error';

/** OpenAI's `POST /embeddings` body, as this client sends it (vectors always as base64). */
export interface OpenAiEmbedBody {
  model: string;
  input: string[];
  dimensions?: number;
}

export interface OpenAiEmbedAnswer {
  /** One per input, in input order. */
  vectors: Float32Array[];
  /** `usage.prompt_tokens`; undefined when the remote did not say. */
  promptTokens?: number;
  limits: RateLimitHeaders;
}

export interface OpenAiClientOptions {
  /** The API's base URL, up to and including `/v1` (as OpenAI's SDKs take it). */
  url: string;
  apiKey?: string;
  timeoutMs: number;
}

/** One `POST {url}/embeddings` at a time; retries, splitting and pacing are the provider's. */
export class OpenAiClient {
  private readonly endpoint: URL;

  constructor(private readonly options: OpenAiClientOptions) {
    this.endpoint = new URL('embeddings', options.url.endsWith('/') ? options.url : `${options.url}/`);
  }

  get url(): string {
    return this.endpoint.toString();
  }

  async embed(body: OpenAiEmbedBody, signal?: AbortSignal): Promise<OpenAiEmbedAnswer> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    let response: Response;
    let json: unknown;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        body: JSON.stringify({ ...body, encoding_format: 'base64' }),
        headers: this.headers(),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      if (!response.ok) throw await failure(response);
      json = await response.json();
    } catch (error) {
      throw fetchFailure(error, signal, timeout, {
        timedOut: `${this.url} did not answer within ${this.options.timeoutMs} ms`,
        notJson: () => `${this.url} answered something that is not JSON`,
        unreachable: (reason) => `${this.url} unreachable: ${reason}`,
      });
    }
    return { ...parseAnswer(json, body.input.length), limits: readRateLimitHeaders(response.headers) };
  }

  private headers(): Record<string, string> {
    return {
      'content-type': 'application/json',
      ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
    };
  }
}

/** `data[].embedding` as base64 (asked for) or numbers (what servers that ignore encoding_format send). */
function parseAnswer(json: unknown, inputs: number): Omit<OpenAiEmbedAnswer, 'limits'> {
  const { data, usage } = (json ?? {}) as { data?: unknown; usage?: { prompt_tokens?: unknown } };
  if (!Array.isArray(data) || data.length !== inputs) {
    const got = Array.isArray(data) ? `${data.length} embeddings` : 'no data list';
    throw new RemoteRequestError(`the remote answered ${got} for ${inputs} inputs`, 'transient');
  }
  const vectors = new Array<Float32Array>(inputs);
  data.forEach((item: { index?: unknown; embedding?: unknown }, position) => {
    const index = Number.isInteger(item?.index) ? (item.index as number) : position;
    const vector = decodeEmbedding(item?.embedding);
    if (!vector || index < 0 || index >= inputs || vectors[index]) {
      throw new RemoteRequestError(`the remote answered an unreadable embedding at data[${position}]`, 'transient');
    }
    vectors[index] = vector;
  });
  const tokens = usage?.prompt_tokens;
  return {
    vectors,
    promptTokens: Number.isInteger(tokens) && (tokens as number) >= 0 ? (tokens as number) : undefined,
  };
}

function decodeEmbedding(embedding: unknown): Float32Array | undefined {
  if (typeof embedding === 'string') return decodeFloat32Base64(embedding);
  if (Array.isArray(embedding) && embedding.every((value) => typeof value === 'number')) {
    return Float32Array.from(embedding);
  }
  return undefined;
}

/** The error bodies of OpenAI (`{error: {message, type, param, code}}`) and TEI (`{error, error_type}`, `{message}`). */
interface ErrorBody {
  message: string;
  param?: string;
  code?: string;
}

async function failure(response: Response): Promise<RemoteRequestError> {
  const text = await response.text().catch(() => '');
  const body = parseErrorBody(text);
  const said = body?.message ?? (text.slice(0, 500) || response.statusText);
  const maxInputs = Number(/maximum allowed batch size (\d+)/.exec(said)?.[1]) || undefined;
  const details = { ...answerDetails(response, readRateLimitHeaders(response.headers)), maxInputs, param: body?.param };
  return new RemoteRequestError(
    `the remote answered ${response.status}: ${said}`,
    classify(response.status, body),
    details,
  );
}

function classify(status: number, body: ErrorBody | undefined): RemoteFailureKind {
  if (status === 429) return body?.code === 'insufficient_quota' ? 'fatal' : 'rate-limited';
  if (status === 408 || status === 409 || status === 424 || status >= 500) return 'transient';
  // Too many inputs, too many tokens, or one input too long: halving finds out, and a lone input is refused.
  if (status === 413) return 'too-large';
  if (status === 400 || status === 422) {
    return body?.param && body.param !== 'input' && !body.param.startsWith('input[') ? 'request' : 'input';
  }
  return 'fatal';
}

function parseErrorBody(text: string): ErrorBody | undefined {
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const error = json?.error;
    if (error && typeof error === 'object') {
      const { message, param, code } = error as Record<string, unknown>;
      if (typeof message === 'string') return { message, param: stringOr(param), code: stringOr(code) };
    }
    if (typeof error === 'string') return { message: error, code: stringOr(json.error_type) };
    if (typeof json?.message === 'string') return { message: json.message, code: stringOr(json.code) };
  } catch {
    // Not JSON: the text itself is the message.
  }
  return undefined;
}

const stringOr = (value: unknown) => (typeof value === 'string' ? value : undefined);
