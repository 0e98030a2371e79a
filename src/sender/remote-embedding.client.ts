import { isTransientStatus, retryAfterMs } from '../common/backoff';

export interface RemoteEmbeddingOptions {
  url: string;
  apiKey?: string;
  timeoutMs: number;
}

/** A chunk's fate as the remote reported it. */
export interface RemoteItem {
  status: 'delivered' | 'failed';
  error?: string;
  /** For a delivered chunk: the tokens it cost and saved, when the remote says (older versions do not). */
  tokens?: number;
  savedTokens?: number;
}

/**
 * The remote's answer to one batch: a per-chunk summary; a failure that may pass (network, timeout, 5xx, 408, 429,
 * and 401/403/404, which a configuration or a model coming back can fix); or a refusal of the whole request.
 */
export type RemoteAnswer =
  | { kind: 'summary'; items: Map<number, RemoteItem> }
  | { kind: 'transient'; error: string; retryAfterMs?: number }
  | { kind: 'refused'; error: string };

/** Statuses that say nothing against the chunks: a missing or wrong key, a model the remote does not serve (yet). */
const NOT_THE_CHUNKS = new Set([401, 403, 404]);
const MODELS_TIMEOUT_MS = 10_000;

/** Another instance's API as a remote sender uses it: the models it serves, and embed-and-deliver. */
export class RemoteEmbeddingClient {
  constructor(private readonly options: RemoteEmbeddingOptions) {}

  get url(): string {
    return this.options.url;
  }

  /** GET /v1/models: the ids of the models the remote serves. Rejects when it cannot be reached or refuses. */
  async models(): Promise<string[]> {
    const timeoutMs = Math.min(MODELS_TIMEOUT_MS, this.options.timeoutMs);
    const response = await this.request('v1/models', { method: 'GET' }, timeoutMs);
    if (!response.ok) throw new Error(`GET /v1/models answered ${response.status}: ${await bodyText(response)}`);
    const body = (await response.json()) as { data?: { id?: unknown }[] };
    return (body.data ?? []).map((model) => model.id).filter((id): id is string => typeof id === 'string');
  }

  /** POST /embeddings/batch with `deliver: true`: the remote embeds the chunks and delivers them to its receiver. */
  async embedAndDeliver(taskId: number, model: string, chunks: { id: number; text: string }[]): Promise<RemoteAnswer> {
    const body = JSON.stringify({ task_id: taskId, model, deliver: true, chunks });
    let response: Response;
    try {
      response = await this.request('embeddings/batch', { method: 'POST', body }, this.options.timeoutMs);
    } catch (error) {
      return { kind: 'transient', error: `remote ${this.options.url} unreachable: ${describe(error)}` };
    }
    if (response.ok) return summaryOf(response);
    const error = `remote answered ${response.status}: ${await bodyText(response)}`;
    if (isTransientStatus(response.status) || NOT_THE_CHUNKS.has(response.status)) {
      return { kind: 'transient', error, retryAfterMs: retryAfterMs(response) };
    }
    return { kind: 'refused', error };
  }

  private request(path: string, init: RequestInit, timeoutMs: number): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const url = new URL(path, this.options.url.endsWith('/') ? this.options.url : `${this.options.url}/`);
    return fetch(url, { ...init, headers, signal: AbortSignal.timeout(timeoutMs) });
  }
}

async function summaryOf(response: Response): Promise<RemoteAnswer> {
  try {
    const body = (await response.json()) as { items: (RemoteItem & { id: number; saved_tokens?: number })[] };
    const items = body.items.map(({ id, status, error, tokens, saved_tokens }) => {
      const counted = Number.isInteger(tokens) && Number.isInteger(saved_tokens);
      return [id, { status, error, ...(counted ? { tokens, savedTokens: saved_tokens } : {}) }] as const;
    });
    return { kind: 'summary', items: new Map(items) };
  } catch (error) {
    return {
      kind: 'transient',
      error: `remote answered ${response.status} with an unreadable body: ${describe(error)}`,
    };
  }
}

const bodyText = async (response: Response) => (await response.text().catch(() => '')).slice(0, 500);

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout…) is in its cause. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause ? `${error.message} (${cause.code ?? cause.message})` : error.message;
}
