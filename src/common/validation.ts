import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString, MaxLength, MinLength, ValidateBy } from 'class-validator';
import { findShapeProblem, METADATA_MAX_DEPTH, stringProblem } from './json-shape';
import { Verbatim } from './sliced-validation';

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
  optional
    ? applyDecorators(ApiPropertyOptional({ ...rest, ...extra }), IsOptional())
    : ApiProperty({ ...rest, ...extra });

/**
 * Ids are bigint in PostgreSQL and numbers here (data-source.options.ts parses bigint as a number): exact up to
 * 2^53 − 1, which no table reaches. A larger id in a request is refused rather than rounded to another one.
 */
export const MAX_ID = Number.MAX_SAFE_INTEGER;

type IntOptions = Described & { min?: number; max?: number; default?: number };

/** One rule and one message, whatever is wrong (a string, a fraction, out of range). */
const intRules = ({ min = -2147483648, max = 2147483647, default: defaultValue, ...described }: IntOptions) => [
  property(described, { type: 'integer', minimum: min, maximum: max, default: defaultValue }),
  ValidateBy({
    name: 'isIntInRange',
    validator: {
      validate: (value: unknown) => Number.isInteger(value) && (value as number) >= min && (value as number) <= max,
      defaultMessage: () => `$property must be an integer from ${min} to ${max}`,
    },
  }),
];

/** An integer in a JSON body: a JSON number, never a string or a boolean converted to one. */
export function IntField(options: IntOptions) {
  return applyDecorators(...intRules(options));
}

/**
 * An integer in the query string: decimal digits with an optional minus sign and no leading zero, nothing else
 * (`0x10`, `1e3`, ` 1`, `1.0`, `01` and `` stay strings and fail as not integers, where Number() would have read
 * them as numbers).
 */
export function IntQueryField(options: IntOptions) {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && /^(0|-?[1-9]\d{0,15})$/.test(value) ? Number(value) : value,
    ),
    ...intRules(options),
  );
}

/**
 * Text stored in PostgreSQL: NUL characters and lone surrogates cannot be stored as sent (PostgreSQL refuses NUL;
 * a lone surrogate would become U+FFFD on the way), so they are refused here with a message naming the field.
 */
export function TextField(options: Described & { maxLength?: number }) {
  const { maxLength, ...described } = options;
  const decorators = [
    property(described, { type: 'string', minLength: 1, maxLength }),
    IsString(),
    MinLength(1, { message: '$property must not be empty' }),
    ValidateBy({
      name: 'isStorableText',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || stringProblem(value, true) === undefined,
        defaultMessage: (args) => `$property ${stringProblem(String(args?.value), true)}`,
      },
    }),
  ];
  if (maxLength) decorators.push(MaxLength(maxLength));
  return applyDecorators(...decorators);
}

/**
 * Free JSON kept in a jsonb column: an object, nested at most METADATA_MAX_DEPTH levels, with no NUL or lone
 * surrogate in any key or string (jsonb cannot hold them). The message names the first bad place, e.g.
 * `chunks.0.metadata.tags.2 must not contain NUL (\u0000) characters`.
 */
export function MetadataField(options: Described) {
  return applyDecorators(
    // Stored exactly as sent: keys named `toString`, `constructor` or `__proto__` included.
    Verbatim(),
    property(options, {
      type: 'object',
      additionalProperties: true,
      example: { source: 'docs/intro.md' },
      description: `${options.description} (a JSON object nested at most ${METADATA_MAX_DEPTH} levels)`,
    }),
    ValidateBy({
      name: 'isStorableMetadata',
      validator: {
        validate: (value: unknown) => metadataProblem(value, '') === undefined,
        defaultMessage: (args) => metadataProblem(args?.value, '$property') ?? '',
      },
    }),
  );
}

function metadataProblem(value: unknown, path: string): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `${path} must be a JSON object`;
  const problem = findShapeProblem(value, path, { maxDepth: METADATA_MAX_DEPTH, refuseNul: true });
  return problem && `${problem.path} ${problem.message}`;
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
    Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value)),
    IsBoolean({ message: '$property must be true or false' }),
  );
}

const isId = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 1;

/** A row id in a JSON body: a JSON number from 1 to MAX_ID (a string, a fraction or a bigger number is refused). */
export function IdField(options: Described) {
  return IntField({ ...options, min: 1, max: MAX_ID });
}

/** The first id given twice, naming both places: one link per id would silently drop the second. */
function repeatedId(ids: number[], property: string): string | undefined {
  const first = new Map<number, number>();
  for (const [index, id] of ids.entries()) {
    const earlier = first.get(id);
    if (earlier !== undefined) return `${property}[${index}] repeats ${property}[${earlier}] (id ${id})`;
    first.set(id, index);
  }
  return undefined;
}

/** A list of row ids in a JSON body; the message names the first bad entry, e.g. `chunkIds[3]`, or a repeated one. */
export function IdListField(options: Described & { maxItems: number }) {
  const { maxItems, ...described } = options;
  const problem = (value: unknown, property: string): string | undefined => {
    if (!Array.isArray(value)) return `${property} must be an array of ids`;
    if (value.length > maxItems) return `${property} must hold at most ${maxItems} ids`;
    const bad = value.findIndex((id) => !isId(id));
    if (bad >= 0) return `${property}[${bad}] must be an integer from 1 to ${MAX_ID}`;
    return repeatedId(value as number[], property);
  };
  return applyDecorators(
    property(described, { type: 'array', items: { type: 'integer', minimum: 1, maximum: MAX_ID } }),
    ValidateBy({
      name: 'isIdList',
      validator: {
        validate: (value: unknown) => problem(value, '') === undefined,
        defaultMessage: (args) => problem(args?.value, '$property') ?? '',
      },
    }),
  );
}
