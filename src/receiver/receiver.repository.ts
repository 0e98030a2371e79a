import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export interface VectorRow {
  chunkId: number;
  contentHash: string;
  vector: Float32Array;
}

export interface StoredVectorRow {
  chunk_id: number;
  model: string;
  dimensions: number;
  content_hash: string;
  embedding: number[];
  updated_at: Date;
}

/** All SQL of the built-in receiver: vectors in mgmt.embedding, one row per (chunk, model). */
@Injectable()
export class ReceiverRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The current content hash of each chunk id that exists. */
  async chunkHashes(chunkIds: number[]): Promise<Map<number, string>> {
    const rows: { id: number; content_hash: string }[] = await this.dataSource.query(
      `SELECT id, content_hash FROM mgmt.embed_chunk WHERE id = ANY($1::bigint[])`,
      [chunkIds],
    );
    return new Map(rows.map((row) => [row.id, row.content_hash]));
  }

  /** The dimension count already stored for a model, if any (every vector of one model has the same). */
  async modelDimensions(model: string): Promise<number | undefined> {
    const rows = await this.dataSource.query(`SELECT dimensions FROM mgmt.embedding WHERE model = $1 LIMIT 1`, [model]);
    return rows[0]?.dimensions;
  }

  /** One statement: repeats of a (chunk, model) replace the row, so delivering a batch twice stores it once. */
  async upsert(model: string, dimensions: number, rows: VectorRow[]): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO mgmt.embedding (chunk_id, model, dimensions, embedding, content_hash)
       SELECT u.chunk_id, $1, $2, u.embedding::real[], u.content_hash
       FROM unnest($3::bigint[], $4::text[], $5::text[]) AS u(chunk_id, embedding, content_hash)
       ON CONFLICT (chunk_id, model) DO UPDATE
       SET dimensions = EXCLUDED.dimensions, embedding = EXCLUDED.embedding,
           content_hash = EXCLUDED.content_hash, updated_at = now()`,
      [
        model,
        dimensions,
        rows.map((row) => row.chunkId),
        rows.map((row) => `{${Array.from(row.vector).join(',')}}`),
        rows.map((row) => row.contentHash),
      ],
    );
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
    const rows: { content_hash: string; embedding: number[] }[] = await this.dataSource.query(
      `SELECT DISTINCT ON (content_hash) content_hash, embedding FROM mgmt.embedding
       WHERE model = $1 AND content_hash = ANY($2::text[])`,
      [model, hashes],
    );
    return new Map(rows.map((row) => [row.content_hash, Float32Array.from(row.embedding)]));
  }
}
