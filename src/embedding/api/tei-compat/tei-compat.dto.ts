import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { IntField } from '../../../common/validation';
import { BoolField, StringField, TextsField } from '../embedding-fields';

/** TEI accepts either spelling; only right truncation (keep the start) is implemented. */
export const TRUNCATION_DIRECTIONS = ['Right', 'right'] as const;

/** Text Embeddings Inference's `POST /embed` request (router/src/http/types.rs, EmbedRequest). */
export class TeiEmbedRequestDto {
  @TextsField({ description: 'A string or an array of strings', example: 'What is Deep Learning?' })
  inputs: string | string[];

  @BoolField({
    description: "Cut inputs longer than the model's limit; false (TEI's default): such an input is a 413",
    optional: true,
    default: false,
  })
  truncate?: boolean;

  @ApiPropertyOptional({
    enum: TRUNCATION_DIRECTIONS,
    description: 'Only Right (keep the start); Left is refused with 422',
  })
  @IsOptional()
  @IsIn(TRUNCATION_DIRECTIONS, { message: 'truncation_direction must be Right: Left truncation is not supported' })
  truncation_direction?: string;

  @StringField({
    description: 'A prompt from the model\'s config_sentence_transformers.json, e.g. "query"',
    optional: true,
  })
  prompt_name?: string;

  @BoolField({ description: 'L2-normalise the vectors', optional: true, default: true })
  normalize?: boolean;

  @IntField({ description: 'Keep the first N dimensions (Matryoshka)', optional: true, min: 1 })
  dimensions?: number;

  @StringField({
    description: 'Not in TEI, which serves one model: a served model id; default: the first',
    optional: true,
  })
  model?: string;
}

export class TeiInfoQueryDto {
  @StringField({ description: 'A served model id; default: the first', optional: true })
  model?: string;
}

export class TeiEmbeddingModelDto {
  @ApiProperty({
    example: 'mean',
    description: 'mean, cls, last_token, or sentence_embedding (pooled inside the ONNX graph)',
  })
  pooling: string;
}

export class TeiModelTypeDto {
  @ApiProperty({ type: TeiEmbeddingModelDto })
  embedding: TeiEmbeddingModelDto;
}

/** TEI's `GET /info` (router/src/lib.rs, Info). */
export class TeiInfoDto {
  @ApiProperty({ example: 'sentence-transformers/all-MiniLM-L6-v2' })
  model_id: string;
  @ApiProperty({ type: String, nullable: true, example: null })
  model_sha: string | null;
  @ApiProperty({ example: 'float32' })
  model_dtype: string;
  @ApiProperty({ type: TeiModelTypeDto })
  model_type: TeiModelTypeDto;
  @ApiProperty({ description: "No limit of its own: requests queue; reported as TEI's default, 512" })
  max_concurrent_requests: number;
  @ApiProperty({ description: "The model's token limit, special tokens included" })
  max_input_length: number;
  @ApiProperty({ description: 'EMBEDDING_MAX_BATCH_TOKENS' })
  max_batch_tokens: number;
  @ApiProperty({ type: Number, nullable: true, description: 'EMBEDDING_MAX_BATCH_SIZE' })
  max_batch_requests: number | null;
  @ApiProperty({ description: 'EMBED_MAX_INPUTS' })
  max_client_batch_size: number;
  @ApiProperty({ description: 'Whether inputs are truncated by default: false, as in TEI' })
  auto_truncate: boolean;
  @ApiProperty({ description: 'Threads the tokenizer may use' })
  tokenization_workers: number;
  @ApiProperty({ description: "This service's version", example: '0.1.0' })
  version: string;
  @ApiProperty({ type: String, nullable: true, example: null })
  sha: string | null;
  @ApiProperty({ type: String, nullable: true, example: null })
  docker_label: string | null;
}

export const TEI_ERROR_TYPES = ['Unhealthy', 'Backend', 'Overloaded', 'Validation', 'Tokenizer', 'Empty'] as const;
export type TeiErrorType = (typeof TEI_ERROR_TYPES)[number];

/** TEI's error body. */
export class TeiErrorResponseDto {
  @ApiProperty({ example: 'Input validation error: `inputs` must have less than 256 tokens. Given: 300' })
  error: string;

  @ApiProperty({ enum: TEI_ERROR_TYPES, example: 'Validation' })
  error_type: TeiErrorType;
}

export const TEI_EMBED_RESPONSE_SCHEMA = {
  type: 'array',
  items: { type: 'array', items: { type: 'number' } },
  example: [[0.0, 1.0, 2.0]],
  description: 'One vector per input, in input order (also for a single string)',
};
