/**
 * The version of a stored row: PostgreSQL's xmin (the transaction that wrote this version of the row) and ctid (where
 * the version lies). An UPDATE writes a new version with a new xmin and ctid, and a committed version never changes,
 * so a vector read with a version equal to the one in a snapshot is that snapshot's vector. Two visible versions of
 * one row can only share both after 2^32 transactions (xid wraparound) put a new version in the old one's place.
 */
export interface RowVersion {
  xmin: number;
  block: number;
  offset: number;
}

export interface CachedVector extends RowVersion {
  values: Float32Array;
  /** Σ values², summed in float64 in order, as the streamed scan sums it. */
  norm: number;
  /** The last search of the whole model that saw the row (ModelVectors.generation). */
  generation: number;
}

/**
 * What an entry costs besides its values: the entry's object, its typed array and the Map slot (about 310 bytes of
 * heap), and malloc's own overhead for each array's values. Measured in Node 22 over 100,000 entries of 384
 * dimensions: 309 bytes of heap and 2,198 bytes of RSS an entry, 662 more than its 1,536 bytes of values.
 */
const ENTRY_OVERHEAD_BYTES = 640;

export function entryBytes(dimensions: number): number {
  return dimensions * 4 + ENTRY_OVERHEAD_BYTES;
}

export function sameVersion(cached: RowVersion, row: RowVersion): boolean {
  return cached.xmin === row.xmin && cached.block === row.block && cached.offset === row.offset;
}

/** One model's cached vectors by chunk id, and the bytes they take. */
export class ModelVectors {
  readonly byChunk = new Map<number, CachedVector>();
  bytes = 0;
  /** Counts the searches of this model's kept vectors; each stamps the rows it saw. */
  generation = 0;

  set(chunkId: number, vector: CachedVector): void {
    const old = this.byChunk.get(chunkId);
    if (old) this.bytes -= entryBytes(old.values.length);
    this.byChunk.set(chunkId, vector);
    this.bytes += entryBytes(vector.values.length);
  }

  delete(chunkId: number): void {
    const old = this.byChunk.get(chunkId);
    if (!old) return;
    this.bytes -= entryBytes(old.values.length);
    this.byChunk.delete(chunkId);
  }

  /** Drops the rows no search since `generation` saw: deleted from the store. */
  dropOlderThan(generation: number): void {
    for (const [chunkId, vector] of this.byChunk) if (vector.generation < generation) this.delete(chunkId);
  }
}

/**
 * The vectors the exact search has read, per model, within SEARCH_EXACT_CACHE_SIZE for all models together. A model
 * that alone does not fit is not kept; otherwise the least recently searched models leave until the rest fits.
 */
export class VectorCache {
  /** In order of use, least recent first (a Map keeps insertion order; a use re-inserts). */
  private readonly models = new Map<string, ModelVectors>();

  constructor(readonly maxBytes: number) {}

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  /** The model's vectors, marked as the most recently used; undefined when none are kept. */
  take(model: string): ModelVectors | undefined {
    const vectors = this.models.get(model);
    if (!vectors) return undefined;
    this.models.delete(model);
    this.models.set(model, vectors);
    return vectors;
  }

  /** Keeps (or drops) the model's vectors after a search changed them, evicting others to stay within the size. */
  keep(model: string, vectors: ModelVectors): void {
    this.models.delete(model);
    if (vectors.bytes > this.maxBytes || vectors.byChunk.size === 0) return;
    this.models.set(model, vectors);
    for (const [other, kept] of this.models) {
      if (this.totalBytes() <= this.maxBytes) break;
      if (kept !== vectors) this.models.delete(other);
    }
  }

  totalBytes(): number {
    let total = 0;
    for (const vectors of this.models.values()) total += vectors.bytes;
    return total;
  }
}
