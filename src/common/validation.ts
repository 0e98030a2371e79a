import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';

/**
 * Decorators that set validation, transformation and the OpenAPI property together, so the docs and the
 * checks cannot drift apart (the pattern of immich's validation.ts).
 */
interface Described {
  description: string;
  optional?: boolean;
  example?: unknown;
}

const property = ({ optional, ...rest }: Described, extra: Record<string, unknown>) =>
  optional ? applyDecorators(ApiPropertyOptional({ ...rest, ...extra }), IsOptional()) : ApiProperty({ ...rest, ...extra });

export function IntField(options: Described & { min?: number; max?: number; default?: number }) {
  const { min = -2147483648, max = 2147483647, default: defaultValue, ...described } = options;
  return applyDecorators(
    property(described, { type: 'integer', minimum: min, maximum: max, default: defaultValue }),
    Type(() => Number),
    IsInt(),
    Min(min),
    Max(max),
  );
}

/** Text stored in PostgreSQL: NUL characters are refused there, so they are refused here with a clear message. */
export function TextField(options: Described & { maxLength?: number }) {
  const { maxLength, ...described } = options;
  const decorators = [
    property(described, { type: 'string', minLength: 1, maxLength }),
    IsString(),
    MinLength(1, { message: '$property must not be empty' }),
    Matches(/^[^\u0000]*$/, { message: '$property must not contain NUL (\\u0000) characters' }),
  ];
  if (maxLength) decorators.push(MaxLength(maxLength));
  return applyDecorators(...decorators);
}

export function MetadataField(options: Described) {
  return applyDecorators(
    property(options, { type: 'object', additionalProperties: true, example: { source: 'docs/intro.md' } }),
    IsObject({ message: '$property must be a JSON object' }),
  );
}

export function EnumField<T extends string>(values: readonly T[], options: Described) {
  return applyDecorators(
    property(options, { enum: values, type: 'string' }),
    IsIn(values, { message: `$property must be one of: ${values.join(', ')}` }),
  );
}

/** A query-string flag: `true` or `false` (anything else is a 400 naming the parameter). */
export function BooleanQueryField(options: Described & { default?: boolean }) {
  const { default: defaultValue, ...described } = options;
  return applyDecorators(
    property(described, { type: 'boolean', default: defaultValue }),
    Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value)),
    IsBoolean({ message: '$property must be true or false' }),
  );
}
