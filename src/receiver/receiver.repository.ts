import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { encodeRealArray } from './vector-codec';
import { VectorReuse } from './vector-reuse';

export interface VectorRow {
  chunkId: number;
  contentHash: string;
  vector: Float32Array;
}

/** What the database says about a batch before it is stored. */
export interface StoreCheck {
  /** The current content hash of each chunk id that exists. */
  hashes: Map<number, string>;
  /** The dimension count already stored for the model, if any. */
  storedDimensions?: number;
}

interface CheckRow {
  stored_dimensions: number | null;
  ids: number[];
  hashes: string[];
}

function toStoreCheck(row: CheckRow): StoreCheck {
  const hashes = new Map(row.ids.map((id, index) => [Number(id), row.hashes[index]]));
  return { hashes, storedDimensions: row.stored_dimensions ?? undefined };
}

export interface StoredVectorRow {
  chunk_id: number;
  model: string;
  dimensions: number;
  content_hash: string;
  embedding: number[];
  updated_at: Date;
}

/**
 * The stored vector of each content hash that has one for the model: one index probe per hash, each with a limit, so
 * the plan cannot turn into reading every vector of the model. (With `content_hash = ANY($2)` and statistics taken
 * while the model had few vectors, PostgreSQL 15 chose to scan the model's whole index range and filter: 45,000 rows
 * read for a batch of 256 new texts, 28 ms on the sender's path, growing with the store.)
 */
export const FIND_BY_HASHES_SQL = `
  SELECT h.content_hash, e.embedding
  FROM (SELECT DISTINCT unnest($2::text[]) AS content_hash) h
  CROSS JOIN LATERAL (
    SELECT s.embedding FROM mgmt.embedding s WHERE s.model = $1 AND s.content_hash = h.content_hash LIMIT 1
  ) e`;

/** All SQL of the built-in receiver: vectors in mgmt.embedding, one row per (chunk, model). */
@Injectable()
export class ReceiverRepository implements VectorReuse {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * What validation needs from the database, in one round trip: the current content hash of each chunk id that
   * exists, and the dimension count already stored for the model, if any (every vector of one model has the same).
   */
  async lookup(model: string, chunkIds: number[]): Promise<StoreCheck> {
    const [row]: CheckRow[] = await this.dataSource.query(
      `SELECT (SELECT dimensions FROM mgmt.embedding WHERE model = $1 LIMIT 1) AS stored_dimensions,
              coalesce(array_agg(c.id), '{}') AS ids, coalesce(array_agg(c.content_hash), '{}') AS hashes
       FROM mgmt.embed_chunk c WHERE c.id = ANY($2::bigint[])`,
      [model, chunkIds],
    );
    return toStoreCheck(row);
  }

  /**
   * Stores the rows in one statement, but only when every chunk exists with the given content hash and the model's
   * stored vectors (if any) have `dimensions`: validation and upsert in one round trip, all or nothing. When
   * something does not hold, nothing is stored and the answer carries what `lookup` would have, read in the same
   * snapshot, for naming the bad items. Repeats of a (chunk, model) replace the row, so delivering a batch twice
   * stores it once.
   */
  async upsertIfValid(model: string, dimensions: number, rows: VectorRow[]): Promise<{ stored: boolean } & StoreCheck> {
    // Every vector travels in one flat real[] in PostgreSQL's binary format (no float ↔ text conversions on either
    // side); row n's vector is its slice n. The caller has checked that each one has `dimensions` values.
    const [row]: (CheckRow & { stored: boolean })[] = await this.dataSource.query(
      `WITH input AS (
         SELECT u.chunk_id, u.content_hash, u.ord::int AS ord,
                (SELECT c.content_hash FROM mgmt.embed_chunk c WHERE c.id = u.chunk_id) AS current_hash
         FROM unnest($3::bigint[], $5::text[]) WITH ORDINALITY AS u(chunk_id, content_hash, ord)
       ),
       stored AS (SELECT (SELECT dimensions FROM mgmt.embedding WHERE model = $1 LIMIT 1) AS dimensions),
       valid AS (
         SELECT NOT EXISTS (SELECT 1 FROM input WHERE current_hash IS DISTINCT FROM content_hash)
            AND (SELECT dimensions IS NULL OR dimensions = $2 FROM stored) AS ok
       ),
       upserted AS (
         INSERT INTO mgmt.embedding (chunk_id, model, dimensions, embedding, content_hash)
         SELECT i.chunk_id, $1, $2, ($4::real[])[(i.ord - 1) * $2 + 1 : i.ord * $2], i.content_hash
         FROM input i WHERE (SELECT ok FROM valid)
         ON CONFLICT (chunk_id, model) DO UPDATE
         SET dimensions = EXCLUDED.dimensions, embedding = EXCLUDED.embedding,
             content_hash = EXCLUDED.content_hash, updated_at = now()
         RETURNING 1
       )
       SELECT v.ok AS stored, s.dimensions AS stored_dimensions,
              CASE WHEN v.ok THEN '{}' ELSE
                (SELECT coalesce(array_agg(chunk_id), '{}') FROM input WHERE current_hash IS NOT NULL) END AS ids,
              CASE WHEN v.ok THEN '{}' ELSE
                (SELECT coalesce(array_agg(current_hash), '{}') FROM input WHERE current_hash IS NOT NULL) END AS hashes
       FROM valid v, stored s`,
      [
        model,
        dimensions,
        rows.map((row) => row.chunkId),
        encodeRealArray(rows.map((row) => row.vector)),
        rows.map((row) => row.contentHash),
      ],
    );
    return { stored: row.stored, ...toStoreCheck(row) };
  }

  async find(chunkId: number, model?: string): Promise<StoredVectorRow[]> {
    return this.dataSource.query(
      `SELECT chunk_id, model, dimensions, content_hash, embedding, updated_at FROM mgmt.embedding
       WHERE chunk_id = $1 AND ($2::text IS NULL OR model = $2) ORDER BY model`,
      [chunkId, model ?? null],
    );
  }

  /** Stored vectors of `model` for these content hashes: what the sender may reuse instead of embedding again. */
  async findByHashes(model: string, hashes: string[]): Promise<Map<string, Float32Array>> {
    const rows: { content_hash: string; embedding: number[] }[] = await this.dataSource.query(FIND_BY_HASHES_SQL, [
      model,
      hashes,
    ]);
    return new Map(rows.map((row) => [row.content_hash, Float32Array.from(row.embedding)]));
  }
}
