import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Slots } from '../common/slots';
import { EXACT_SCAN_STREAMS, SearchBackend } from './search-backend';
import { SearchError, SearchErrorCode } from './search.errors';
import { IndexedType, SearchRepository, vectorIndexName, VectorScope } from './search.repository';
import { ScoredChunk, TopK } from './top-k';
import { VectorView } from './copy-vectors';
import { CachedVector, entryBytes, ModelVectors, sameVersion, VectorCache } from './vector-cache';

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
 * The true top k on any PostgreSQL: every stored vector in scope is scored in float64, from memory where this
 * instance has read it before and its row is unchanged (VectorCache), else as it streams from the database. Searches
 * at once are limited so that they take at most 40% of the pool (DATABASE_POOL_SIZE), leaving the rest to the sender
 * and the other routes; the others wait their turn.
 */
@Injectable()
export class ExactVectorSearch extends VectorSearch {
  private readonly slots: Slots;
  private readonly cache: VectorCache;
  /** Models whose vectors did not fit in the cache, with the bytes they needed: streamed, not collected again. */
  private readonly tooLarge = new Map<string, number>();

  constructor(
    private readonly repository: SearchRepository,
    private readonly backend: SearchBackend,
    private readonly config: AppConfig,
  ) {
    super();
    this.slots = new Slots(Math.max(1, Math.floor((config.database.poolSize * 0.4) / EXACT_SCAN_STREAMS)));
    this.cache = new VectorCache(config.search.exactCacheBytes);
  }

  async search(query: VectorQuery): Promise<VectorAnswer> {
    const scorer = new Scorer(query);
    const { timeoutMs } = this.config.search;
    const queued = Date.now();
    await this.slots.run(() => {
      // The time spent waiting for a turn counts against the search's budget.
      const left = timeoutMs - (Date.now() - queued);
      if (left <= 0)
        throw new SearchError(SearchErrorCode.Unavailable, `the search ran past SEARCH_TIMEOUT_MS (${timeoutMs} ms)`);
      return this.scan(query, left, scorer);
    });
    return { exact: true, hits: scorer.top.best() };
  }

  private async scan(query: VectorQuery, timeoutMs: number, scorer: Scorer): Promise<void> {
    const cached = this.cache.enabled ? this.cache.take(query.model) : undefined;
    if (cached) return this.scanChanged(query, timeoutMs, scorer, cached);
    if (!this.cache.enabled || (this.tooLarge.get(query.model) ?? 0) > this.cache.maxBytes) {
      // Scored straight from the received bytes; only the bytes the model would need are counted, to notice when it fits.
      let bytes = 0;
      await this.repository.scanVectors(query, this.backend.scanStreams, timeoutMs, (row) => {
        bytes += entryBytes(row.dimensions);
        scorer.offerBytes(row);
      });
      if (this.cache.enabled && isWholeModel(query)) this.tooLarge.set(query.model, bytes);
      return;
    }
    const vectors = new ModelVectors();
    await this.repository.scanVectors(query, this.backend.scanStreams, timeoutMs, (row) => {
      const vector = cachedVector(row);
      if (vector && vectors.bytes <= this.cache.maxBytes) vectors.set(row.chunkId, vector);
      if (vector) scorer.offer(row.chunkId, vector);
    });
    if (vectors.bytes > this.cache.maxBytes && isWholeModel(query)) this.tooLarge.set(query.model, vectors.bytes);
    else this.cache.keep(query.model, vectors);
  }

  /** Reads every row's version, and the vectors of the rows that are new or changed since they were kept. */
  private async scanChanged(query: VectorQuery, timeoutMs: number, scorer: Scorer, vectors: ModelVectors) {
    const generation = ++vectors.generation;
    let seen = 0;
    await this.repository.scanChangedVectors(
      query,
      timeoutMs,
      (row) => {
        seen++;
        const kept = vectors.byChunk.get(row.chunkId);
        if (!kept || !sameVersion(kept, row.version!)) return true;
        kept.generation = generation;
        scorer.offer(row.chunkId, kept);
        return false;
      },
      (row) => {
        const vector = cachedVector(row);
        if (!vector) return vectors.delete(row.chunkId);
        vector.generation = generation;
        vectors.set(row.chunkId, vector);
        scorer.offer(row.chunkId, vector);
      },
    );
    // A search of the whole model saw every stored row: the others were deleted.
    if (isWholeModel(query) && vectors.byChunk.size > seen) vectors.dropOlderThan(generation);
    this.cache.keep(query.model, vectors);
  }
}

function isWholeModel(query: VectorQuery): boolean {
  return query.taskId === undefined && query.filter === undefined;
}

/** The row's vector decoded from the received bytes, or undefined when it has none (NULL, empty, holding NULLs). */
function cachedVector(row: VectorView): CachedVector | undefined {
  if (row.dimensions === 0) return undefined;
  const values = new Float32Array(row.dimensions);
  let norm = 0;
  for (let index = 0, at = row.first; index < values.length; index++, at += 8) {
    values[index] = row.bytes.readFloatBE(at);
    norm += values[index] * values[index];
  }
  return { ...row.version!, values, norm, generation: 0 };
}

/**
 * The top k by cosine of one query. The same arithmetic as common/cosine.ts, in float64; a zero (or NaN) vector has
 * no direction and matches nothing, and a vector of another length (stored by SQL, bypassing the receiver's check)
 * cannot be compared.
 */
class Scorer {
  readonly top: TopK;
  private readonly target: Float64Array;
  private readonly targetNorm: number;

  constructor(query: VectorQuery) {
    this.top = new TopK(query.k);
    this.target = Float64Array.from(query.vector);
    this.targetNorm = this.target.reduce((total, value) => total + value * value, 0);
  }

  offer(chunkId: number, { values, norm }: CachedVector): void {
    if (values.length !== this.target.length) return;
    let dot = 0;
    for (let index = 0; index < values.length; index++) dot += values[index] * this.target[index];
    this.offerScore(chunkId, dot, norm);
  }

  offerBytes(row: VectorView): void {
    if (row.dimensions !== this.target.length) return;
    let [dot, norm] = [0, 0];
    for (let index = 0, at = row.first; index < row.dimensions; index++, at += 8) {
      const value = row.bytes.readFloatBE(at);
      dot += value * this.target[index];
      norm += value * value;
    }
    this.offerScore(row.chunkId, dot, norm);
  }

  private offerScore(chunkId: number, dot: number, norm: number): void {
    const score = dot / Math.sqrt(norm * this.targetNorm);
    if (norm > 0 && Number.isFinite(score)) this.top.offer(chunkId, score);
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
