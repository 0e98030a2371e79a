import { Injectable } from '@nestjs/common';
import { vectorsAsArrays } from '../../common/vectors-as-arrays';
import { createHash } from 'node:crypto';
import { assertUnreachable } from '../../common/assert-unreachable';
import { ChunkOutcome, DeliveryService } from '../../delivery/delivery.service';
import { EmbeddingError, EmbeddingErrorCode, invalidInput } from '../../embedding/embedding.errors';
import { EmbeddingService } from '../../embedding/embedding.service';
import { EmbedOptions, ModelInfo } from '../../embedding/providers/embedding-model';
import { AnswerAdmission } from '../answer-admission';
import { vectorsAnswerBytes } from '../answer-size';
import {
  BatchItemDto,
  BatchResponseDto,
  EmbedBatchDto,
  EmbeddingResponseDto,
  EmbedOptionsDto,
  EmbedSingleDto,
} from './native-embedding.dto';

const chunkLabel = (index: number) => `chunks[${index}].text`;

/** POST /embeddings/single and /embeddings/batch: the request and response shapes over EmbeddingService. */
@Injectable()
export class NativeEmbeddingService {
  constructor(
    private readonly embeddings: EmbeddingService,
    private readonly delivery: DeliveryService,
  ) {}

  async embedSingle(dto: EmbedSingleDto, admission: AnswerAdmission): Promise<EmbeddingResponseDto> {
    const call = { model: dto.model, texts: [dto.text], options: toOptions(dto), field: 'text', label: () => 'text' };
    const { model, dimensions, vectors } = await this.embeddings.embed({
      ...call,
      admit: admitVectors(1, dto, admission),
    });
    return { model, dimensions, embedding: Array.from(vectors[0]) };
  }

  /** All chunks go to the model in one call; it plans the inference batches. */
  async embedBatch(dto: EmbedBatchDto, admission: AnswerAdmission): Promise<BatchResponseDto> {
    assertUniqueIds(dto.chunks.map((chunk) => chunk.id));
    const texts = dto.chunks.map((chunk) => chunk.text);
    const admit = admitVectors(texts.length, dto, admission);
    const call = { model: dto.model, texts, options: toOptions(dto), field: 'chunks', label: chunkLabel, admit };
    const { model, dimensions, vectors } = await this.embeddings.embed(call);
    const embeddings = await vectorsAsArrays(vectors);
    const items = dto.chunks.map(({ id }, index) => ({
      id,
      status: 'embedded' as const,
      embedding: embeddings[index],
    }));
    return { model, dimensions, ...(dto.task_id === undefined ? {} : { task_id: dto.task_id }), items };
  }

  /**
   * With `deliver`: embeds the chunks and delivers the vectors to this instance's receiver, answering per chunk. A
   * text the model refuses and a vector the receiver refuses fail only their chunk; a delivery that may succeed
   * later fails the whole request, so the caller repeats it (the receiver stores a repeated vector once).
   */
  async embedAndDeliver(dto: EmbedBatchDto): Promise<BatchResponseDto> {
    const taskId = assertDeliverable(dto);
    const chunks = dto.chunks.map(({ id, text }) => ({
      taskId,
      chunkId: id as number,
      text,
      contentHash: sha256(text),
    }));
    const terms = { field: 'chunks', label: chunkLabel };
    const request = { model: dto.model, chunks, options: toOptions(dto), terms, requestLimits: true, reuse: false };
    const { model, dimensions, outcomes } = await this.delivery.embedAndDeliver(request);
    return {
      model,
      dimensions,
      task_id: taskId,
      items: chunks.map((chunk) => answer(chunk.chunkId, outcomes.get(chunk))),
    };
  }
}

/**
 * One chunk's answer. A delivery that may succeed later fails the whole request, so the caller repeats it (the
 * receiver stores a repeated vector once); a chunk the receiver failed alone (a 5xx for it while the others were
 * stored) fails alone.
 */
function answer(id: number, outcome: ChunkOutcome | undefined): BatchItemDto {
  switch (outcome?.status) {
    case 'delivered':
      return { id, status: 'delivered', tokens: outcome.tokens.tokens, saved_tokens: outcome.tokens.saved };
    case 'refused':
      return { id, status: 'failed', error: outcome.error };
    case 'retry':
      if (outcome.countsAttempt) return { id, status: 'failed', error: outcome.error };
      throw new EmbeddingError(
        EmbeddingErrorCode.DeliveryUnavailable,
        `delivering the vectors failed; try again: ${outcome.error}`,
      );
    case undefined:
      throw new Error(`chunk ${id} was not settled`);
    default:
      return assertUnreachable(outcome);
  }
}

/** Admits `count` vectors of the request's dimensions (or the model's) against the answer budgets. */
function admitVectors(count: number, dto: EmbedOptionsDto, admission: AnswerAdmission) {
  return (model: ModelInfo) => admission.admit(vectorsAnswerBytes(count, dto.dimensions ?? model.dimensions));
}

/** The request's snake_case options in the models' terms (EmbedOptions). */
function toOptions(dto: EmbedOptionsDto & { prompt?: string }): EmbedOptions {
  return {
    normalize: dto.normalize,
    truncate: dto.truncate,
    promptName: dto.prompt_name,
    prompt: dto.prompt,
    dimensions: dto.dimensions,
  };
}

/** A batch's chunk ids are its answer's keys: each may appear once (400 naming the repeat). */
function assertUniqueIds(ids: Array<string | number>): void {
  const seen = new Set<string | number>();
  ids.forEach((id, index) => {
    if (seen.has(id)) throw invalidInput(`chunks[${index}].id: ${JSON.stringify(id)} is used twice`, 'chunks', index);
    seen.add(id);
  });
}

/** Ids are the chunks' own (the receiver stores by them) and the vectors belong to a task. */
function assertDeliverable(dto: EmbedBatchDto): number {
  if (dto.task_id === undefined) throw invalidInput('task_id is required when deliver is true', 'task_id');
  if (dto.chunks.length === 0) {
    throw new EmbeddingError(EmbeddingErrorCode.EmptyInput, 'chunks must hold at least one text', { field: 'chunks' });
  }
  dto.chunks.forEach(({ id }, index) => {
    if (!Number.isSafeInteger(id) || (id as number) < 1) {
      const message = `chunks[${index}].id must be a positive integer (a chunk id) when deliver is true; got ${JSON.stringify(id)}`;
      throw invalidInput(message, 'chunks', index);
    }
  });
  assertUniqueIds(dto.chunks.map((chunk) => chunk.id));
  return dto.task_id;
}

/** The same hash the database trigger sets on mgmt.embed_chunk.content_hash, which the built-in receiver checks. */
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
