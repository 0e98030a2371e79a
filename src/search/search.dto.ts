import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, MaxLength, ValidateBy } from 'class-validator';
import { IdField, IntField, MetadataField } from '../common/validation';

/** pgvector's `vector` type holds at most 16,000 dimensions; no stored model has more. */
export const MAX_VECTOR_DIMENSIONS = 16_000;
export const MAX_K = 1000;

function vectorProblem(value: unknown, property: string): string | undefined {
  if (!Array.isArray(value) || value.length === 0) return `${property} must be a non-empty array of numbers`;
  if (value.length > MAX_VECTOR_DIMENSIONS) return `${property} must hold at most ${MAX_VECTOR_DIMENSIONS} numbers`;
  // JSON.parse reads 1e400 as Infinity: refused here like any other value that is not a finite number.
  const bad = value.findIndex((item) => typeof item !== 'number' || !Number.isFinite(item));
  return bad < 0 ? undefined : `${property}[${bad}] must be a finite number`;
}

/** A query vector: finite numbers; its length is checked against the model's stored vectors by the service. */
function VectorField() {
  return ValidateBy(
    {
      name: 'isQueryVector',
      validator: {
        validate: (value: unknown) => vectorProblem(value, '') === undefined,
        defaultMessage: (args) => vectorProblem(args?.value, args?.property ?? 'vector') ?? '',
      },
    },
    {},
  );
}

/** An optional string in a JSON body, at most `maxLength` characters; one message names the field. */
function OptionalString(options: { description: string; maxLength: number; example?: string }) {
  const message = `$property must be a string of at most ${options.maxLength} characters`;
  return applyDecorators(
    ApiPropertyOptional({ type: String, ...options }),
    IsOptional(),
    IsString({ message }),
    MaxLength(options.maxLength, { message }),
  );
}

function OptionalBoolean(description: string) {
  return applyDecorators(
    ApiPropertyOptional({ type: Boolean, description, default: true }),
    IsOptional(),
    IsBoolean({ message: '$property must be true or false' }),
  );
}

export class SearchRequestDto {
  @OptionalString({
    description:
      'Whose stored vectors to search; default: the first served model. A model this instance does not serve can ' +
      'still be searched by `vector`.',
    maxLength: 500,
    example: 'sentence-transformers/all-MiniLM-L6-v2',
  })
  model?: string;

  @ApiPropertyOptional({
    description:
      'Text to search for, embedded with the model (at most EMBED_MAX_INPUT_CHARS characters). Exactly one of ' +
      '`query` and `vector`.',
    example: 'What is PostgreSQL?',
  })
  @IsOptional()
  @IsString({ message: 'query must be a string' })
  query?: string;

  @ApiPropertyOptional({
    description: "A query vector instead of text: as many finite numbers as the model's stored vectors have",
    type: [Number],
    example: [0.12, -0.03, 0.57],
  })
  @IsOptional()
  @VectorField()
  vector?: number[];

  @IntField({ description: 'How many results', optional: true, min: 1, max: MAX_K, default: 10 })
  k?: number;

  @IdField({ description: "Only this task's chunks", optional: true })
  taskId?: number;

  @MetadataField({
    description: "Only chunks whose metadata contains this object (PostgreSQL's `metadata @> filter`)",
    optional: true,
  })
  filter?: Record<string, unknown>;

  @OptionalString({
    description: 'A prompt of the model (config_sentence_transformers.json) put before `query`, e.g. "query"',
    maxLength: 1000,
  })
  prompt_name?: string;

  @OptionalBoolean("Include each chunk's text")
  text?: boolean;

  @OptionalBoolean("Include each chunk's metadata")
  metadata?: boolean;
}

export class SearchResultDto {
  @ApiProperty()
  chunkId: number;

  @ApiProperty({ description: "Cosine similarity of the chunk's stored vector and the query, -1 to 1" })
  score: number;

  @ApiPropertyOptional()
  text?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  metadata?: Record<string, unknown>;
}

export class SearchResponseDto {
  @ApiProperty()
  model: string;

  @ApiProperty({
    description:
      "true: the true top k (every stored vector compared); false: pgvector's HNSW index answered (approximate)",
  })
  exact: boolean;

  @ApiProperty({ type: [SearchResultDto], description: 'Best first; equal scores in chunk id order' })
  results: SearchResultDto[];
}

export const SEARCH_INDEX_STATES = ['valid', 'building', 'none', 'unsupported'] as const;
export type SearchIndexState = (typeof SEARCH_INDEX_STATES)[number];

export class SearchIndexDto {
  @ApiProperty()
  model: string;

  @ApiProperty()
  dimensions: number;

  @ApiProperty({ type: String, nullable: true, description: 'The index name in schema mgmt' })
  index: string | null;

  @ApiProperty({
    enum: SEARCH_INDEX_STATES,
    description:
      'valid: searches use it; building: CREATE INDEX CONCURRENTLY runs (or was interrupted); none: not built yet; ' +
      'unsupported: more dimensions than an HNSW index takes (4,000), searched exactly',
  })
  state: SearchIndexState;
}

export class SearchIndexListDto {
  @ApiProperty({ description: 'Whether searches use pgvector (SEARCH_MODE and the extension)' })
  pgvector: boolean;

  @ApiProperty({ type: [SearchIndexDto] })
  items: SearchIndexDto[];
}

export class BuildSearchIndexDto {
  @ApiProperty({
    description: 'The model whose stored vectors to index',
    maxLength: 500,
    example: 'sentence-transformers/all-MiniLM-L6-v2',
  })
  @IsString({ message: 'model must be a string of at most 500 characters' })
  @MaxLength(500, { message: 'model must be a string of at most 500 characters' })
  model: string;
}

/**
 * Request examples for Swagger UI. They work once the task example of POST /tasks (the README's) has been embedded
 * with the README's model: search.e2e-spec.ts sends each of them.
 */
export const SEARCH_INDEX_BODY_EXAMPLES = {
  model: { summary: "Build the README model's index", value: { model: 'sentence-transformers/all-MiniLM-L6-v2' } },
};

export const SEARCH_BODY_EXAMPLES = {
  query: {
    summary: 'Text, embedded with the first served model',
    value: { query: 'What is PostgreSQL?', k: 2 },
  },
  filtered: {
    summary: 'Within one task, chunks whose metadata contains {"page": 2}',
    value: {
      model: 'sentence-transformers/all-MiniLM-L6-v2',
      query: 'vectors',
      taskId: 1,
      filter: { page: 2 },
      k: 5,
      text: true,
      metadata: true,
    },
  },
};
