import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Slots } from '../common/slots';
import { EXACT_SCAN_STREAMS, SearchBackend } from './search-backend';
import { SearchError, SearchErrorCode } from './search.errors';
import { IndexedType, SearchRepository, vectorIndexName, VectorScope } from './search.repository';
import { ScoredChunk, TopK } from './top-k';

export interface VectorQuery extends VectorScope {
  /** The query, as many values as the model's stored vectors have (`dimensions`), not all zero. */
  vector: number[];
  dimensions: number;
  k: number;
}

export interface VectorAnswer {
  /** true: every stored vector in scope was compared; false: an approximate index answered. */
  exact: boolean;
  hits: ScoredChunk[];
}

/** The nearest stored vectors of a query, best first; one implementation per SearchBackend (createVectorSearch). */
export abstract class VectorSearch {
  abstract search(query: VectorQuery): Promise<VectorAnswer>;
}

/**
 * The true top k on any PostgreSQL: every stored vector in scope streams to Node (ExactScan) and is scored in
 * float64. Searches at once are limited so that they take at most 40% of the pool (DATABASE_POOL_SIZE), leaving the
 * rest to the sender and the other routes; the others wait their turn.
 */
@Injectable()
export class ExactVectorSearch extends VectorSearch {
  private readonly slots: Slots;

  constructor(
    private readonly repository: SearchRepository,
    private readonly backend: SearchBackend,
    private readonly config: AppConfig,
  ) {
    super();
    this.slots = new Slots(Math.max(1, Math.floor((config.database.poolSize * 0.4) / EXACT_SCAN_STREAMS)));
  }

  async search(query: VectorQuery): Promise<VectorAnswer> {
    const top = new TopK(query.k);
    const target = Float64Array.from(query.vector);
    const targetNorm = target.reduce((total, value) => total + value * value, 0);
    const { timeoutMs } = this.config.search;
    const queued = Date.now();
    await this.slots.run(() => {
      // The time spent waiting for a turn counts against the search's budget.
      const left = timeoutMs - (Date.now() - queued);
      if (left <= 0)
        throw new SearchError(SearchErrorCode.Unavailable, `the search ran past SEARCH_TIMEOUT_MS (${timeoutMs} ms)`);
      return this.repository.scanVectors(query, this.backend.scanStreams, left, (row) => {
        // A vector of another length (stored by SQL, bypassing the receiver's check) cannot be compared.
        if (row.dimensions !== target.length) return;
        let [dot, norm] = [0, 0];
        for (let index = 0, at = row.first; index < target.length; index++, at += 8) {
          const value = row.bytes.readFloatBE(at);
          dot += value * target[index];
          norm += value * value;
        }
        // The same arithmetic as common/cosine.ts; a zero (or NaN) vector has no direction and matches nothing.
        const score = dot / Math.sqrt(norm * targetNorm);
        if (norm > 0 && Number.isFinite(score)) top.offer(row.chunkId, score);
      });
    });
    return { exact: true, hits: top.best() };
  }
}

/** pgvector indexes `vector` up to 2,000 dimensions and `halfvec` up to 4,000; a larger model has no index. */
export function indexedType(dimensions: number): IndexedType | undefined {
  if (dimensions <= 2000) return 'vector';
  return dimensions <= 4000 ? 'halfvec' : undefined;
}

/** How long a model's index, once seen valid, is taken as valid without looking again. */
const VALID_INDEX_TTL_MS = 10_000;

/**
 * pgvector's HNSW index of the model answers (exact: false) once it is valid; until then (the model's vectors have
 * just landed and the index is being built, or it has too many dimensions for one) the exact search does.
 */
export class PgvectorVectorSearch extends VectorSearch {
  private readonly validUntil = new Map<string, number>();

  constructor(
    private readonly backend: Required<SearchBackend>,
    private readonly repository: SearchRepository,
    private readonly exact: ExactVectorSearch,
    private readonly config: AppConfig,
  ) {
    super();
  }

  async search(query: VectorQuery): Promise<VectorAnswer> {
    const type = indexedType(query.dimensions);
    if (!type || !(await this.indexValid(query.model))) return this.exact.search(query);
    const { efSearch, timeoutMs } = this.config.search;
    const hits = await this.repository.indexedTopK({
      ...query,
      extension: this.backend.pgvector,
      type,
      efSearch,
      timeoutMs,
    });
    return { exact: false, hits };
  }

  private async indexValid(model: string): Promise<boolean> {
    if ((this.validUntil.get(model) ?? 0) > Date.now()) return true;
    const valid = (await this.repository.vectorIndexes()).get(vectorIndexName(model))?.valid ?? false;
    if (valid) this.validUntil.set(model, Date.now() + VALID_INDEX_TTL_MS);
    return valid;
  }
}

/** The one factory: pgvector's search where the backend has it, else the exact search alone. */
export function createVectorSearch(
  backend: SearchBackend,
  repository: SearchRepository,
  exact: ExactVectorSearch,
  config: AppConfig,
): VectorSearch {
  if (!backend.pgvector) return exact;
  return new PgvectorVectorSearch(backend as Required<SearchBackend>, repository, exact, config);
}
