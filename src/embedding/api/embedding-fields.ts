import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, ValidateBy } from 'class-validator';

/**
 * Field decorators of the embedding routes that src/common/validation.ts lacks, in its style: validation and the
 * OpenAPI property set together. Emptiness and size limits are checked by EmbeddingService, so that they answer
 * with the limit (413) and in each route's error format.
 */
interface Described {
  description: string;
  optional?: boolean;
  example?: unknown;
  default?: unknown;
}

const documented = ({ optional, ...rest }: Described, schema: Record<string, unknown>) =>
  optional
    ? applyDecorators(ApiPropertyOptional({ ...rest, ...schema }), IsOptional())
    : ApiProperty({ ...rest, ...schema });

export function BoolField(options: Described) {
  return applyDecorators(
    documented(options, { type: Boolean }),
    IsBoolean({ message: '$property must be true or false' }),
  );
}

/** One message whatever is wrong (missing, not a string, too long), rather than one per rule. */
export function StringField(options: Described & { maxLength?: number }) {
  const { maxLength = 1000, ...described } = options;
  return applyDecorators(
    documented(described, { type: String, maxLength }),
    ValidateBy({
      name: 'isShortString',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && value.length <= maxLength,
        defaultMessage: () => `$property must be a string of at most ${maxLength} characters`,
      },
    }),
  );
}

const TEXTS_SCHEMA = { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };

/** A string or an array of strings (OpenAI's `input`, TEI's `inputs`); token arrays are refused by name. */
export function TextsField(options: Described) {
  return applyDecorators(
    documented(options, TEXTS_SCHEMA),
    ValidateBy({
      name: 'isTextOrTexts',
      validator: {
        validate: (value: unknown) => textsProblem(value, '') === undefined,
        defaultMessage: (args) => textsProblem(args?.value, args?.property ?? 'input') ?? '',
      },
    }),
  );
}

function textsProblem(value: unknown, property: string): string | undefined {
  if (typeof value === 'string') return undefined;
  if (!Array.isArray(value)) return `${property} must be a string or an array of strings`;
  if (value.length > 0 && value.every(isTokens)) {
    return `${property}: token arrays are not supported; send the text itself, as a string or an array of strings`;
  }
  const index = value.findIndex((item) => typeof item !== 'string');
  return index < 0 ? undefined : `${property}[${index}] must be a string`;
}

const isTokens = (item: unknown) => Number.isInteger(item) || (Array.isArray(item) && item.every(Number.isInteger));

/** A caller's id for a chunk, echoed back: a non-empty string or an integer. */
export function ChunkIdField(options: Described) {
  return applyDecorators(
    documented(options, { oneOf: [{ type: 'string', minLength: 1, maxLength: 200 }, { type: 'integer' }] }),
    ValidateBy({
      name: 'isChunkId',
      validator: {
        validate: (value: unknown) =>
          (typeof value === 'string' && value.length > 0 && value.length <= 200) || Number.isSafeInteger(value),
        defaultMessage: () => '$property must be an integer or a string of 1 to 200 characters',
      },
    }),
  );
}
