import { Injectable } from '@nestjs/common';
import { ReceiverAckDto, ReceiverBatchDto, StoredEmbeddingDto } from './receiver.dto';
import { ReceiverError, ReceiverErrorCode, rejection, RejectedItem } from './receiver.errors';
import { ReceiverRepository, StoreCheck } from './receiver.repository';
import { decodeVector } from './vector-codec';

/**
 * The built-in receiver: checks every item, then stores the whole batch in one upsert, or nothing. Repeating a
 * batch (a sender that crashed after delivering, a retried request) stores each vector once.
 */
@Injectable()
export class ReceiverService {
  constructor(private readonly repository: ReceiverRepository) {}

  /**
   * The checks that need no database run first; when they pass, the database checks and the upsert are one
   * statement (the usual case, one round trip). Either way a refusal names every bad item, as checked below.
   */
  async store(batch: ReceiverBatchDto): Promise<ReceiverAckDto> {
    const vectors = batch.items.map((item) => decodeVector(item.embedding));
    if (vectors.every((vector) => locallyValid(vector, batch.dimensions))) {
      const rows = batch.items.map((item, index) => ({
        chunkId: item.chunk_id,
        contentHash: item.content_hash,
        vector: vectors[index],
      }));
      const result = await this.repository.upsertIfValid(batch.model, batch.dimensions, rows);
      if (result.stored) return { stored: rows.length };
      throw this.rejection(batch, vectors, result);
    }
    throw this.rejection(
      batch,
      vectors,
      await this.repository.lookup(
        batch.model,
        batch.items.map((i) => i.chunk_id),
      ),
    );
  }

  async find(chunkId: number, model?: string): Promise<StoredEmbeddingDto> {
    const rows = await this.repository.find(chunkId, model);
    if (rows.length === 0) {
      const message = `no stored embedding for chunk ${chunkId}${model ? ` and model "${model}"` : ''}`;
      throw new ReceiverError(ReceiverErrorCode.NotStored, message);
    }
    if (rows.length > 1) {
      const models = rows.map((row) => row.model).join(', ');
      throw new ReceiverError(
        ReceiverErrorCode.ModelRequired,
        `chunk ${chunkId} has vectors of several models; name one: ${models}`,
      );
    }
    const row = rows[0];
    return { ...row, embedding: row.embedding.map(Number), updated_at: new Date(row.updated_at).toISOString() };
  }

  /** Every bad item, named; only called when at least one is. */
  private rejection(batch: ReceiverBatchDto, vectors: (Float32Array | undefined)[], check: StoreCheck): Error {
    const rejected: RejectedItem[] = [];
    batch.items.forEach((item, index) => {
      const current = check.hashes.get(item.chunk_id);
      const problem = itemProblem(item, vectors[index], current, batch.dimensions, check.storedDimensions);
      if (problem) rejected.push({ index, chunk_id: item.chunk_id, message: problem });
    });
    // Unreachable while the checks above and the statement agree; a plain error is then retried, never lost.
    if (rejected.length === 0) return new Error('the receiver refused the batch without naming a bad item');
    return rejection(rejected);
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
  return nonFinite(vector);
}

/** Whether a decoded vector passes the checks that need no database. */
function locallyValid(vector: Float32Array | undefined, dimensions: number): vector is Float32Array {
  return vector !== undefined && vector.length === dimensions && nonFinite(vector) === undefined;
}

function nonFinite(vector: Float32Array): string | undefined {
  const bad = vector.findIndex((value) => !Number.isFinite(value));
  return bad >= 0 ? `embedding[${bad}] is ${vector[bad]}; values must be finite` : undefined;
}
