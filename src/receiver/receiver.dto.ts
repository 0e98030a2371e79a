import { ApiProperty } from '@nestjs/swagger';
import { createHash } from 'node:crypto';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsDefined, Matches, ValidateBy } from 'class-validator';
import { ValidateEachInSlices } from '../common/sliced-validation';
import { IdField, IntField, TextField } from '../common/validation';

export const MAX_RECEIVER_ITEMS = 10_000;

export class ReceiverItemDto {
  @IdField({ description: 'The chunk the vector belongs to' })
  chunk_id: number;

  @ApiProperty({ description: "Hex sha-256 of the chunk's text, as in mgmt.embed_chunk.content_hash" })
  @Matches(/^[0-9a-f]{64}$/, { message: '$property must be 64 lowercase hex characters' })
  content_hash: string;

  @ApiProperty({
    description: 'The vector: an array of numbers, or base64 of little-endian float32 values',
    oneOf: [
      { type: 'array', items: { type: 'number' } },
      { type: 'string', format: 'byte' },
    ],
  })
  @IsDefined()
  // Over HTTP a number array or base64; the in-process client hands over the vector itself.
  embedding: number[] | string | Float32Array;
}

/**
 * One vector per chunk in a batch: the upsert cannot store one chunk twice in a statement (PostgreSQL's "ON CONFLICT
 * DO UPDATE command cannot affect row a second time"), and two vectors for one chunk leave no right answer.
 */
function repeatedChunk(items: unknown): string | undefined {
  if (!Array.isArray(items)) return undefined;
  const first = new Map<unknown, number>();
  for (const [index, item] of items.entries()) {
    const id: unknown = (item as { chunk_id?: unknown } | null)?.chunk_id;
    if (id === undefined) continue;
    const earlier = first.get(id);
    if (earlier !== undefined)
      return `items[${index}].chunk_id ${id as string} repeats items[${earlier}]; one vector per chunk per batch`;
    first.set(id, index);
  }
  return undefined;
}

const UniqueChunkIds = () =>
  ValidateBy({
    name: 'uniqueChunkIds',
    validator: {
      validate: (items: unknown) => repeatedChunk(items) === undefined,
      defaultMessage: (args) => repeatedChunk(args?.value) ?? '',
    },
  });

export class ReceiverBatchDto {
  @IdField({ description: 'The task the vectors were made for', optional: true })
  task_id?: number;

  @TextField({ description: 'Model id the vectors come from', maxLength: 500 })
  model: string;

  @IntField({ description: 'Values per vector', min: 1, max: 65536 })
  dimensions: number;

  @ApiProperty({ type: [ReceiverItemDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_RECEIVER_ITEMS)
  @UniqueChunkIds()
  @ValidateEachInSlices(() => ReceiverItemDto)
  items: ReceiverItemDto[];
}

/**
 * Swagger UI's request example: a vector for chunk 1 of the POST /tasks example (its real content hash). The model
 * name is made up, so trying it cannot fix a real model's dimension count in the store.
 */
export const RECEIVER_BODY_EXAMPLES = {
  oneVector: {
    summary: 'One 3-dimensional vector for chunk 1',
    value: {
      task_id: 1,
      model: 'example-model',
      dimensions: 3,
      items: [
        {
          chunk_id: 1,
          content_hash: createHash('sha256').update('PostgreSQL is a relational database.').digest('hex'),
          embedding: [0.6, 0.8, 0],
        },
      ],
    },
  },
};

export class ReceiverAckDto {
  @ApiProperty({ description: 'Vectors stored (inserted or replaced); repeats of one (chunk, model) store once' })
  stored: number;
}

export class RejectedItemDto {
  @ApiProperty()
  index: number;
  @ApiProperty()
  chunk_id: number;
  @ApiProperty()
  message: string;
}

export class ReceiverRejectionDto {
  @ApiProperty({ example: 422 })
  statusCode: number;
  @ApiProperty()
  message: string;
  @ApiProperty()
  error: string;
  @ApiProperty({ type: [RejectedItemDto], description: 'Each refused item; nothing of the batch was stored' })
  items: RejectedItemDto[];
}

export class StoredEmbeddingDto {
  @ApiProperty()
  chunk_id: number;
  @ApiProperty()
  model: string;
  @ApiProperty()
  dimensions: number;
  @ApiProperty()
  content_hash: string;
  @ApiProperty({ type: [Number] })
  embedding: number[];
  @ApiProperty({ type: String, format: 'date-time' })
  updated_at: string;
}

export class EmbeddingQueryDto {
  @TextField({ description: 'Model id; optional when the chunk has vectors of one model only', optional: true })
  model?: string;
}
