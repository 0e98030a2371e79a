import { ApiProperty } from '@nestjs/swagger';
import { StringField } from '../embedding-fields';

// Text Embeddings Inference's answers (router/src/lib.rs and router/src/http/types.rs at v1.9.3).

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
  @ApiProperty({
    description: 'Whether inputs are truncated when a request leaves `truncate` out (EMBED_AUTO_TRUNCATE)',
  })
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
  description: 'One vector per input, in input order (also for a single input)',
};

export const TEI_EMBED_ALL_RESPONSE_SCHEMA = {
  type: 'array',
  items: TEI_EMBED_RESPONSE_SCHEMA,
  example: [[[0.0, 1.0, 2.0]]],
  description: "Per input, one vector per token (the model's hidden states before pooling), special tokens included",
};

export const TEI_SIMILARITY_RESPONSE_SCHEMA = {
  type: 'array',
  items: { type: 'number' },
  example: [0.0, 1.0, 0.5],
  description: 'The cosine similarity of the source sentence to each sentence, in order',
};

export const TEI_DECODE_RESPONSE_SCHEMA = {
  type: 'array',
  items: { type: 'string' },
  example: ['test'],
  description: 'One text per id list',
};

/** TEI's SimpleToken. */
export class TeiTokenDto {
  @ApiProperty({ example: 0 })
  id: number;

  @ApiProperty({ example: 'test', description: "A special token's own text, else the part of the input it covers" })
  text: string;

  @ApiProperty({ example: false })
  special: boolean;

  @ApiProperty({ type: Number, nullable: true, example: 0, description: 'UTF-8 byte offset; null for special tokens' })
  start: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 2, description: 'UTF-8 byte offset; null for special tokens' })
  stop: number | null;
}

export const TEI_TOKENIZE_RESPONSE_SCHEMA = {
  type: 'array',
  items: { type: 'array', items: { $ref: '#/components/schemas/TeiTokenDto' } },
  example: [[{ id: 0, text: 'test', special: false, start: 0, stop: 2 }]],
  description: 'Per input, its tokens (also for a single input)',
};
