import { Injectable } from '@nestjs/common';
import { assertUnreachable } from '../common/assert-unreachable';
import { EmbeddingError, EmbeddingErrorCode } from '../embedding/embedding.errors';
import { EmbeddingService } from '../embedding/embedding.service';
import { AppConfig } from '../config/app-config';
import { SearchRequestDto, SearchResponseDto, SearchResultDto } from './search.dto';
import { SearchError, SearchErrorCode } from './search.errors';
import { ChunkRow, SearchRepository } from './search.repository';
import { ScoredChunk } from './top-k';
import { VectorSearch } from './vector-search';

/** PostgreSQL's query_canceled: here, statement_timeout (SEARCH_TIMEOUT_MS) ran out. */
const QUERY_CANCELED = '57014';

/**
 * POST /search: the cheap checks first (the request's shape, then the model's stored vectors and the task, one
 * indexed row each), then the query's embedding, then the search, then the text and metadata of the k found.
 */
@Injectable()
export class SearchService {
  constructor(
    private readonly repository: SearchRepository,
    private readonly vectors: VectorSearch,
    private readonly embeddings: EmbeddingService,
    private readonly config: AppConfig,
  ) {}

  async search(dto: SearchRequestDto): Promise<SearchResponseDto> {
    assertOneQuery(dto);
    const model = dto.model ?? this.defaultModel();
    const dimensions = await this.repository.storedDimensions(model);
    if (dimensions === undefined)
      throw new SearchError(SearchErrorCode.NotFound, `model "${model}" has no stored vectors`);
    if (dto.taskId !== undefined && !(await this.repository.taskExists(dto.taskId))) {
      throw new SearchError(SearchErrorCode.NotFound, `task ${dto.taskId} not found`);
    }
    const vector = dto.vector ?? (await this.embedQuery(model, dto.query as string, dto.prompt_name));
    assertComparable(vector, dimensions, dto.vector ? 'vector' : 'query');
    const k = dto.k ?? 10;
    const { exact, hits } = await this.vectors
      .search({ model, dimensions, vector, k, taskId: dto.taskId, filter: dto.filter })
      .catch(restateTimeout(this.config.search.timeoutMs));
    const shape = { text: dto.text ?? true, metadata: dto.metadata ?? true };
    const chunks = await this.repository.chunks(
      hits.map((hit) => hit.chunkId),
      shape,
    );
    return { model, exact, results: toResults(hits, chunks, shape) };
  }

  /** The first served model; an instance that serves none needs `model` (its stored vectors are searched by vector). */
  private defaultModel(): string {
    const [first] = this.embeddings.servedModels();
    if (first === undefined) {
      throw new SearchError(SearchErrorCode.InvalidInput, 'model is required: this instance serves no model');
    }
    return first;
  }

  private async embedQuery(model: string, query: string, promptName?: string): Promise<number[]> {
    const call = { model, texts: [query], options: { promptName }, field: 'query', label: () => 'query' };
    try {
      const { vectors } = await this.embeddings.embed(call);
      return Array.from(vectors[0]);
    } catch (error) {
      throw error instanceof EmbeddingError ? new SearchError(searchCodeOf(error.code), error.message) : error;
    }
  }
}

function assertOneQuery({ query, vector }: SearchRequestDto): void {
  if ((query === undefined) === (vector === undefined)) {
    const message = query === undefined ? 'query or vector is required' : 'give query or vector, not both';
    throw new SearchError(SearchErrorCode.InvalidInput, message);
  }
}

function assertComparable(vector: number[], dimensions: number, field: 'vector' | 'query'): void {
  if (vector.length !== dimensions) {
    const given = field === 'vector' ? `it has ${vector.length}` : `the query embeds to ${vector.length}`;
    const message = `${field}: the model's stored vectors have ${dimensions} dimensions; ${given}`;
    throw new SearchError(SearchErrorCode.InvalidInput, message);
  }
  if (vector.every((value) => value === 0)) {
    throw new SearchError(SearchErrorCode.InvalidInput, `${field}: a zero vector has no direction to compare`);
  }
}

function restateTimeout(timeoutMs: number) {
  return (error: unknown): never => {
    if ((error as { code?: string }).code !== QUERY_CANCELED) throw error;
    throw new SearchError(SearchErrorCode.Unavailable, `the search ran past SEARCH_TIMEOUT_MS (${timeoutMs} ms)`);
  };
}

/** A chunk deleted between the search and this read is left out (its vector went with it). */
function toResults(hits: ScoredChunk[], chunks: Map<number, ChunkRow>, shape: { text: boolean; metadata: boolean }) {
  return hits.flatMap(({ chunkId, score }): SearchResultDto[] => {
    const chunk = chunks.get(chunkId);
    if (!chunk) return [];
    return [
      {
        chunkId,
        score,
        ...(shape.text ? { text: chunk.text } : {}),
        ...(shape.metadata ? { metadata: chunk.metadata } : {}),
      },
    ];
  });
}

/** Embedding the query failed: the same failure in the search's terms. */
function searchCodeOf(code: EmbeddingErrorCode): SearchErrorCode {
  switch (code) {
    case EmbeddingErrorCode.InvalidInput:
    case EmbeddingErrorCode.EmptyInput:
    case EmbeddingErrorCode.TooManyTokens:
      return SearchErrorCode.InvalidInput;
    case EmbeddingErrorCode.TooManyInputs:
    case EmbeddingErrorCode.InputTooLarge:
    case EmbeddingErrorCode.AnswerTooLarge:
      return SearchErrorCode.QueryTooLarge;
    case EmbeddingErrorCode.UnknownModel:
      return SearchErrorCode.NotFound;
    case EmbeddingErrorCode.UnsupportedOperation:
      return SearchErrorCode.Unsupported;
    case EmbeddingErrorCode.ModelNotReady:
    case EmbeddingErrorCode.Overloaded:
    case EmbeddingErrorCode.BackendUnavailable:
    case EmbeddingErrorCode.DeliveryUnavailable:
    case EmbeddingErrorCode.ModelFilesUnavailable:
    case EmbeddingErrorCode.UnsupportedModel:
    case EmbeddingErrorCode.DeviceUnavailable:
    case EmbeddingErrorCode.InvalidConfiguration:
      return SearchErrorCode.Unavailable;
    default:
      return assertUnreachable(code);
  }
}
