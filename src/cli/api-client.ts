import type { StoredEmbeddingDto } from '../receiver/receiver.dto';
import type { SearchIndexDto, SearchIndexListDto, SearchRequestDto, SearchResponseDto } from '../search/search.dto';
import type {
  ChunkResponseDto,
  TaskChunkPageDto,
  TaskCountCheckDto,
  TaskPageDto,
  TaskResponseDto,
} from '../task/task.dto';
import type { ChunkStatus, TaskStatus } from '../task/task-status';
import { ApiError, CliError, UsageError } from './errors';
import { messageOf } from '../common/message-of';

// Type-only imports: the CLI shares the server's DTO shapes (so tsc notices drift) without loading Nest at run time.
export type Task = TaskResponseDto;
export type TaskPage = TaskPageDto;
export type TaskChunkPage = TaskChunkPageDto;
export type Chunk = ChunkResponseDto;
export type StoredEmbedding = StoredEmbeddingDto;
export type CountCheck = TaskCountCheckDto;
export type SearchRequest = SearchRequestDto;
export type SearchAnswer = SearchResponseDto;
export type SearchIndex = SearchIndexDto;
export type SearchIndexList = SearchIndexListDto;

export interface ExportQuery {
  model: string;
  text: boolean;
  metadata: boolean;
}

export interface ChunkInput {
  text: string;
  metadata?: Record<string, unknown>;
}

export interface NewTask {
  name: string;
  model: string;
  priority?: number;
  chunks: ChunkInput[];
}

export interface ClientOptions {
  /** Base URL, already normalised (see baseUrl). */
  url: string;
  apiKey?: string;
  /** Per request (default 60 s); uploads get five times as long, as 10,000 chunks can take a while on a busy server. */
  timeoutMs?: number;
}

const UPLOAD_TIMEOUT_FACTOR = 5;

/** The server could not be reached at all (as opposed to answering with an error). */
export class UnreachableError extends CliError {}

/** A thin typed client of the REST API; every failure becomes a CliError with a message for people. */
export class ApiClient {
  constructor(private readonly options: ClientOptions) {}

  get url(): string {
    return this.options.url;
  }

  createTask(task: NewTask): Promise<Task> {
    return this.request('POST', '/tasks', task, UPLOAD_TIMEOUT_FACTOR);
  }

  addChunks(id: number, chunks: ChunkInput[]): Promise<Task> {
    return this.request('POST', `/tasks/${id}/chunks`, { chunks }, UPLOAD_TIMEOUT_FACTOR);
  }

  getTask(id: number): Promise<Task> {
    return this.request('GET', `/tasks/${id}`);
  }

  listTasks(query: { status?: TaskStatus; limit: number; offset: number; after?: number }): Promise<TaskPage> {
    return this.request('GET', `/tasks?${searchParams(query)}`);
  }

  listTaskChunks(id: number, query: { status?: ChunkStatus; limit: number; offset: number }): Promise<TaskChunkPage> {
    return this.request('GET', `/tasks/${id}/chunks?${searchParams(query)}`);
  }

  getChunk(id: number): Promise<Chunk> {
    return this.request('GET', `/chunks/${id}`);
  }

  /** The stored vector, or undefined when the chunk has none for the model (404). */
  async getEmbedding(chunkId: number, model: string): Promise<StoredEmbedding | undefined> {
    try {
      return await this.request<StoredEmbedding>('GET', `/chunks/${chunkId}/embedding?${searchParams({ model })}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * The task's stored vectors as a stream of JSON lines (GET /tasks/:id/embeddings). The time limit applies to
   * waiting, for the answer and then between pieces of the body, not to the whole export, which may be long.
   */
  async exportEmbeddings(id: number, query: ExportQuery): Promise<AsyncIterable<Uint8Array>> {
    const timeoutMs = this.options.timeoutMs ?? 60_000;
    const abort = new AbortController();
    let timer = setTimeout(() => abort.abort(), timeoutMs);
    const path = `/tasks/${id}/embeddings?${searchParams({ ...query, text: String(query.text), metadata: String(query.metadata) })}`;
    let response: Response;
    try {
      response = await fetch(`${this.options.url}${path}`, { headers: this.headers(false), signal: abort.signal });
    } catch (error) {
      clearTimeout(timer);
      throw new UnreachableError(
        unreachableMessage(this.options.url, abort.signal.aborted ? timeoutError() : error, timeoutMs),
      );
    }
    if (!response.ok || !response.body) {
      clearTimeout(timer);
      throw this.httpError(response.status, await response.text());
    }
    const body = response.body;
    const url = this.options.url;
    return (async function* () {
      try {
        for await (const piece of body) {
          clearTimeout(timer);
          timer = setTimeout(() => abort.abort(), timeoutMs);
          yield piece;
        }
      } catch (error) {
        const reason = abort.signal.aborted ? `nothing received for ${timeoutMs / 1000} s` : (error as Error).message;
        throw new CliError(`the export from ${url} was cut short (${reason}); nothing after that point was written`);
      } finally {
        clearTimeout(timer);
      }
    })();
  }

  checkCounts(query: { taskId?: number; repair: boolean }): Promise<CountCheck> {
    const path = `/tasks/counts/${query.repair ? 'repair' : 'drift'}?${searchParams({ taskId: query.taskId })}`;
    return this.request(query.repair ? 'POST' : 'GET', path);
  }

  search(request: SearchRequest): Promise<SearchAnswer> {
    return this.request('POST', '/search', request);
  }

  listSearchIndexes(): Promise<SearchIndexList> {
    return this.request('GET', '/search/indexes');
  }

  buildSearchIndex(model: string): Promise<SearchIndex> {
    return this.request('POST', '/search/indexes', { model });
  }

  cancelTask(id: number): Promise<Task> {
    return this.request('POST', `/tasks/${id}/cancel`);
  }

  retryTask(id: number): Promise<Task> {
    return this.request('POST', `/tasks/${id}/retry`);
  }

  private async request<T>(method: string, path: string, body?: unknown, timeoutFactor = 1): Promise<T> {
    const timeoutMs = (this.options.timeoutMs ?? 60_000) * timeoutFactor;
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.options.url}${path}`, {
        method,
        headers: this.headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new UnreachableError(unreachableMessage(this.options.url, error, timeoutMs));
    }
    if (!response.ok) throw this.httpError(response.status, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(
        `unexpected answer from ${this.options.url}${path} (not JSON): is --url the embedding-tasks service?`,
      );
    }
  }

  private headers(hasBody: boolean): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (hasBody) headers['content-type'] = 'application/json';
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    return headers;
  }

  private httpError(status: number, body: string): ApiError {
    if (status === 401) {
      const what = this.options.apiKey ? 'the server refused the API key' : 'the server needs an API key';
      return new ApiError(`${what}: set --api-key or EMBEDDING_TASKS_API_KEY`, status);
    }
    const message = serverMessage(body) ?? `HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`;
    return new ApiError(status >= 500 ? `server error (${status}): ${message}` : message, status);
  }
}

/** `localhost:3000` and `http://host/base/` both become a URL without a trailing slash. */
export function baseUrl(raw: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`not a URL: "${raw}" (set --url or EMBEDDING_TASKS_URL, e.g. http://localhost:3000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`not an http(s) URL: "${raw}"`);
  }
  return url.toString().replace(/\/+$/, '');
}

/** The `{statusCode, message, error}` body every endpoint answers with (older servers sent validation lists). */
function serverMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; error?: unknown };
    if (Array.isArray(parsed.message)) return parsed.message.join('; ');
    if (typeof parsed.message === 'string') return parsed.message;
    return typeof parsed.error === 'string' ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS lookup failed)',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the server',
};

function timeoutError(): Error {
  const error = new Error('timeout');
  error.name = 'TimeoutError';
  return error;
}

function unreachableMessage(url: string, error: unknown, timeoutMs: number): string {
  const reason =
    error instanceof Error && error.name === 'TimeoutError'
      ? `no answer within ${timeoutMs / 1000} s`
      : networkReason(error);
  return `cannot reach ${url}: ${reason} — is the service running? set --url or EMBEDDING_TASKS_URL`;
}

/** fetch reports "fetch failed" and hides the socket's error code in `cause` (an AggregateError for dual-stack hosts). */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } })?.cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  if (code && REASONS[code]) return REASONS[code];
  return cause?.message || messageOf(error);
}

function searchParams(query: Record<string, string | number | boolean | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  return params.toString();
}
