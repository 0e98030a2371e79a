import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { EnumField } from '../../common/validation';
import { DimensionsField, InputsField, InputsValue, StringField } from '../embedding-fields';

export const ENCODING_FORMATS = ['float', 'base64'] as const;
export type EncodingFormat = (typeof ENCODING_FORMATS)[number];

/** OpenAI's embeddings request (https://platform.openai.com/docs/api-reference/embeddings/create). */
export class OpenAiEmbeddingRequestDto {
  @InputsField({
    description:
      "A string, an array of strings, token ids of the model's vocabulary, or an array of token id arrays; not empty",
    example: ['PostgreSQL is a relational database.', 'Embeddings are vectors.'],
    mixed: false,
  })
  input: InputsValue;

  @StringField({ description: 'A model this instance serves', example: 'sentence-transformers/all-MiniLM-L6-v2' })
  model: string;

  @EnumField(ENCODING_FORMATS, {
    description: 'float: arrays of numbers; base64: each vector as base64 of little-endian float32 bytes',
    optional: true,
    example: 'float',
  })
  encoding_format?: EncodingFormat;

  @DimensionsField('Keep the first N dimensions, re-normalised (Matryoshka); null: all')
  dimensions?: number;

  @StringField({ description: 'Accepted for compatibility and ignored', optional: true })
  user?: string;
}

export class OpenAiEmbeddingDto {
  @ApiProperty({ enum: ['embedding'] })
  object: 'embedding';

  @ApiProperty({ description: 'Position of the input', example: 0 })
  index: number;

  @ApiProperty({
    oneOf: [
      { type: 'array', items: { type: 'number' } },
      { type: 'string', format: 'byte' },
    ],
    description: 'The vector: numbers, or base64 of little-endian float32 bytes',
  })
  embedding: number[] | string;
}

export class OpenAiUsageDto {
  @ApiProperty({ description: "Tokens of all inputs, counted with the model's tokenizer (special tokens included)" })
  prompt_tokens: number;

  @ApiProperty()
  total_tokens: number;
}

export class OpenAiEmbeddingResponseDto {
  @ApiProperty({ enum: ['list'] })
  object: 'list';

  @ApiProperty({ type: [OpenAiEmbeddingDto] })
  data: OpenAiEmbeddingDto[];

  @ApiProperty({ example: 'sentence-transformers/all-MiniLM-L6-v2' })
  model: string;

  @ApiProperty({ type: OpenAiUsageDto })
  usage: OpenAiUsageDto;
}

export class OpenAiErrorDto {
  @ApiProperty({
    example: 'Unknown embedding model "gpt-x"; configured models: sentence-transformers/all-MiniLM-L6-v2',
  })
  message: string;

  @ApiProperty({ enum: ['invalid_request_error', 'server_error'] })
  type: string;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'The request field at fault', example: 'model' })
  param: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'model_not_found' })
  code: string | null;
}

/** OpenAI's error body. */
export class OpenAiErrorResponseDto {
  @ApiProperty({ type: OpenAiErrorDto })
  error: OpenAiErrorDto;
}

/** OpenAI's model object (https://platform.openai.com/docs/api-reference/models/object). */
export class OpenAiModelDto {
  @ApiProperty({ description: 'The model id, as requests name it', example: 'sentence-transformers/all-MiniLM-L6-v2' })
  id: string;

  @ApiProperty({ enum: ['model'] })
  object: 'model';

  @ApiProperty({ description: 'Unix time (seconds) this instance started serving it' })
  created: number;

  @ApiProperty({ example: 'embedding-tasks' })
  owned_by: string;
}

export class OpenAiModelListDto {
  @ApiProperty({ enum: ['list'] })
  object: 'list';

  @ApiProperty({ type: [OpenAiModelDto], description: 'Every configured model, in configuration order' })
  data: OpenAiModelDto[];
}
