import { Injectable, NotFoundException } from '@nestjs/common';
import { ReceiverAckDto, ReceiverBatchDto, StoredEmbeddingDto } from './receiver.dto';
import { ReceiverRejection, RejectedItem } from './receiver.errors';
import { ReceiverRepository, VectorRow } from './receiver.repository';
import { decodeVector } from './vector-codec';

/**
 * The built-in receiver: checks every item, then stores the whole batch in one upsert, or nothing. Repeating a
 * batch (a sender that crashed after delivering, a retried request) stores each vector once.
 */
@Injectable()
export class ReceiverService {
  constructor(private readonly repository: ReceiverRepository) {}

  async store(batch: ReceiverBatchDto): Promise<ReceiverAckDto> {
    const rows = await this.validate(batch);
    await this.repository.upsert(batch.model, batch.dimensions, rows);
    return { stored: rows.length };
  }

  async find(chunkId: number, model?: string): Promise<StoredEmbeddingDto> {
    const rows = await this.repository.find(chunkId, model);
    if (rows.length === 0) {
      throw new NotFoundException(`no stored embedding for chunk ${chunkId}${model ? ` and model "${model}"` : ''}`);
    }
    if (rows.length > 1) {
      throw new NotFoundException(`chunk ${chunkId} has vectors of several models; name one: ${rows.map((r) => r.model).join(', ')}`);
    }
    const row = rows[0];
    return { ...row, embedding: row.embedding.map(Number), updated_at: new Date(row.updated_at).toISOString() };
  }

  private async validate(batch: ReceiverBatchDto): Promise<VectorRow[]> {
    const hashes = await this.repository.chunkHashes(batch.items.map((item) => item.chunk_id));
    const storedDimensions = await this.repository.modelDimensions(batch.model);
    const rejected: RejectedItem[] = [];
    const rows: VectorRow[] = [];
    batch.items.forEach((item, index) => {
      const vector = decodeVector(item.embedding);
      const problem = itemProblem(item, vector, hashes.get(item.chunk_id), batch.dimensions, storedDimensions);
      if (problem) rejected.push({ index, chunk_id: item.chunk_id, message: problem });
      else rows.push({ chunkId: item.chunk_id, contentHash: item.content_hash, vector: vector! });
    });
    if (rejected.length > 0) throw new ReceiverRejection(rejected);
    return rows;
  }
}

function itemProblem(
  item: { chunk_id: number; content_hash: string },
  vector: Float32Array | undefined,
  currentHash: string | undefined,
  dimensions: number,
  storedDimensions: number | undefined,
): string | undefined {
  if (currentHash === undefined) return 'unknown chunk id';
  if (currentHash !== item.content_hash) return "content_hash does not match the chunk's text (was it edited?)";
  if (!vector) return 'embedding must be an array of numbers or base64 of little-endian float32 values';
  if (vector.length !== dimensions) return `embedding has ${vector.length} values; dimensions is ${dimensions}`;
  if (storedDimensions !== undefined && storedDimensions !== dimensions) {
    return `this model's stored vectors have ${storedDimensions} dimensions, not ${dimensions}`;
  }
  const bad = vector.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) return `embedding[${bad}] is ${vector[bad]}; values must be finite`;
  return undefined;
}
