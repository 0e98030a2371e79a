import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsString } from 'class-validator';
import { ValidateEachInSlices } from '../../common/sliced-validation';
import { IdField } from '../../common/validation';
import { BoolField, ChunkIdField, DimensionsField, StringField } from '../embedding-fields';

/**
 * Lists may hold more items than EMBED_MAX_INPUTS here, so that the service can answer 413 naming the limit; this
 * cap only stops absurd bodies before validation walks them.
 */
export const ARRAY_HARD_CAP = 1_000_000;

/** Options every native embedding request shares (snake_case, like the OpenAI and TEI routes). */
export class EmbedOptionsDto {
  @StringField({ description: 'Model id; default: the first configured model', optional: true, example: 'tiny' })
  model?: string;

  @BoolField({ description: "L2-normalise the vector; default: the model's own setting", optional: true })
  normalize?: boolean;

  @BoolField({
    description: "Cut texts longer than the model's token limit; false: such a text is a 400",
    optional: true,
    default: true,
  })
  truncate?: boolean;

  @StringField({
    description: 'A prompt from the model\'s config_sentence_transformers.json, e.g. "query"',
    optional: true,
  })
  prompt_name?: string;

  @DimensionsField('Keep the first N dimensions (Matryoshka), re-normalised when normalising; null: all')
  dimensions?: number;
}

export class EmbedSingleDto extends EmbedOptionsDto {
  @ApiProperty({
    description: 'Text to embed (not empty; at most EMBED_MAX_INPUT_CHARS characters)',
    example: 'PostgreSQL is a relational database.',
  })
  @IsString()
  text: string;

  @StringField({
    description: "A literal prefix for the text; '' disables the model's default prompt",
    optional: true,
    maxLength: 10000,
  })
  prompt?: string;
}

export class BatchChunkDto {
  @ChunkIdField({ description: 'Your id for the chunk, echoed in the answer; unique within the request', example: 17 })
  id: string | number;

  @ApiProperty({
    description: 'Text to embed (not empty; at most EMBED_MAX_INPUT_CHARS characters)',
    example: 'Embeddings are vectors.',
  })
  @IsString()
  text: string;
}

export class EmbedBatchDto extends EmbedOptionsDto {
  @IdField({
    description: 'The task these chunks belong to, echoed in the answer; required with `deliver`',
    optional: true,
  })
  task_id?: number;

  @BoolField({
    description:
      "Deliver the vectors to this instance's receiver (the built-in one, or RECEIVER_URL) instead of answering " +
      "them; each chunk is then answered `delivered` or `failed`. Ids must be the chunks' ids (mgmt.embed_chunk.id).",
    optional: true,
    default: false,
  })
  deliver?: boolean;

  @ApiProperty({ type: [BatchChunkDto], description: 'Chunks to embed: 1 to EMBED_MAX_INPUTS, embedded in one call' })
  @IsArray()
  @ArrayMaxSize(ARRAY_HARD_CAP)
  @ValidateEachInSlices(() => BatchChunkDto)
  chunks: BatchChunkDto[];
}

export class EmbeddingResponseDto {
  @ApiProperty({ description: 'The model that embedded the text', example: 'sentence-transformers/all-MiniLM-L6-v2' })
  model: string;

  @ApiProperty({ description: 'Length of the vector', example: 384 })
  dimensions: number;

  @ApiProperty({ type: [Number], description: 'The vector' })
  embedding: number[];
}

export const BATCH_ITEM_STATUSES = ['embedded', 'delivered', 'failed'] as const;
export type BatchItemStatus = (typeof BATCH_ITEM_STATUSES)[number];

export class BatchItemDto {
  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'integer' }], description: "The chunk's id from the request" })
  id: string | number;

  @ApiProperty({
    enum: BATCH_ITEM_STATUSES,
    description:
      'embedded: the vector is in `embedding`. With `deliver`: delivered (the receiver acknowledged the vector) or ' +
      'failed (with `error`: the model refused the text, or the receiver refused the vector; the other chunks proceed)',
  })
  status: BatchItemStatus;

  @ApiPropertyOptional({ type: [Number], description: 'The vector, when embedded (not with `deliver`)' })
  embedding?: number[];

  @ApiPropertyOptional({ description: 'Why this chunk failed, when failed' })
  error?: string;

  @ApiPropertyOptional({
    description:
      'With `deliver`, when delivered: the tokens embedding this chunk cost (0 when another chunk of the request ' +
      'with the same text was charged)',
  })
  tokens?: number;

  @ApiPropertyOptional({ description: 'With `deliver`, when delivered: the tokens it saved by sharing a vector' })
  saved_tokens?: number;
}

export class BatchResponseDto {
  @ApiProperty({ example: 'sentence-transformers/all-MiniLM-L6-v2' })
  model: string;

  @ApiProperty({ description: 'Length of every vector', example: 384 })
  dimensions: number;

  @ApiPropertyOptional({ description: 'The task_id from the request, when given' })
  task_id?: number;

  @ApiProperty({ type: [BatchItemDto], description: 'One item per chunk, in request order' })
  items: BatchItemDto[];
}
