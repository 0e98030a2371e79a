import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DeliveryItem } from './receiver-client';
import { IsolatingDelivery } from './isolating-delivery';
import { embedSettingAside } from '../embedding/embed-setting-aside';
import { EmbeddingInputError } from '../embedding/embedding.errors';
import { EmptyInputError } from '../embedding/embedding-request.errors';
import { BatchItemDto, BatchResponseDto, EmbedBatchDto } from '../embedding/api/native/native-embedding.dto';
import { assertUniqueIds, EmbeddingService, toOptions } from '../embedding/embedding.service';

/**
 * POST /embeddings/batch with `deliver: true`: embeds the chunks and delivers the vectors to this instance's
 * receiver, answering per chunk. This is what a SENDER_MODE=remote sender calls. A text the model refuses and a
 * vector the receiver refuses fail only their chunk; a delivery that may succeed later fails the whole request with
 * 503, so the caller retries it (the receiver stores a repeated vector once).
 */
@Injectable()
export class BatchDeliveryService {
  constructor(
    private readonly embeddings: EmbeddingService,
    private readonly delivery: IsolatingDelivery,
  ) {}

  async embedAndDeliver(dto: EmbedBatchDto): Promise<BatchResponseDto> {
    const taskId = assertDeliverable(dto);
    const model = this.embeddings.resolveModel(dto.model);
    const texts = dto.chunks.map((chunk) => chunk.text);
    const { vectors, refused } = await embedSettingAside(texts, (pending, indexes) =>
      this.embedSome(dto, pending, indexes),
    );
    const dimensions = vectors.values().next().value?.length ?? dto.dimensions ?? model.dimensions;
    const items: DeliveryItem[] = [...vectors].map(([index, vector]) => ({
      chunkId: dto.chunks[index].id as number,
      contentHash: sha256(texts[index]),
      vector,
    }));
    const report = await this.delivery.deliver({ taskId, model: model.id, dimensions, items });
    if (report.retry.length > 0) {
      throw new ServiceUnavailableException(`delivering the vectors failed; try again: ${report.retry[0].error}`);
    }
    const refusedByReceiver = new Map(report.refused.map((item) => [item.chunkId, item.error]));
    const answers = dto.chunks.map(({ id }, index): BatchItemDto => {
      const error = refused.get(index) ?? refusedByReceiver.get(id as number);
      return error === undefined ? { id, status: 'delivered' } : { id, status: 'failed', error };
    });
    return { model: model.id, dimensions, task_id: taskId, items: answers };
  }

  private async embedSome(dto: EmbedBatchDto, texts: string[], indexes: number[]): Promise<Float32Array[]> {
    const label = (position: number) => `chunks[${indexes[position]}].text`;
    const call = { model: dto.model, texts, options: toOptions(dto), field: 'chunks', label };
    return (await this.embeddings.embed(call)).vectors;
  }
}

/** Ids are the chunks' own (the receiver stores by them) and the vectors belong to a task. */
function assertDeliverable(dto: EmbedBatchDto): number {
  if (dto.task_id === undefined) throw new EmbeddingInputError('task_id is required when deliver is true', 'task_id');
  if (dto.chunks.length === 0) throw new EmptyInputError('chunks must hold at least one text', 'chunks');
  dto.chunks.forEach(({ id }, index) => {
    if (!Number.isSafeInteger(id) || (id as number) < 1) {
      const message = `chunks[${index}].id must be a positive integer (a chunk id) when deliver is true; got ${JSON.stringify(id)}`;
      throw new EmbeddingInputError(message, 'chunks', index);
    }
  });
  assertUniqueIds(dto.chunks.map((chunk) => chunk.id));
  return dto.task_id;
}

/** The same hash the database trigger sets on mgmt.embed_chunk.content_hash, which the built-in receiver checks. */
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
