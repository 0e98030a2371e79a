import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, ValidateBy } from 'class-validator';
import { IntField } from '../common/validation';
import { EmbedInput, isTokenIds, TokenIds } from '../embedding/providers/embedding-model';

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

/** A string or an array of strings (TEI's /tokenize `inputs`). */
export function TextsField(options: Described) {
  return applyDecorators(
    documented(options, TEXTS_SCHEMA),
    ValidateBy({
      name: 'isTextOrTexts',
      validator: {
        validate: (value: unknown) => textsProblem(value, '') === undefined,
        defaultMessage: (args) => textsProblem(args?.value, args?.property ?? 'inputs') ?? '',
      },
    }),
  );
}

function textsProblem(value: unknown, property: string): string | undefined {
  if (typeof value === 'string') return undefined;
  if (!Array.isArray(value)) return `${property} must be a string or an array of strings`;
  const index = value.findIndex((item) => typeof item !== 'string');
  return index < 0 ? undefined : `${property}[${index}] must be a string`;
}

/** What OpenAI's `input` and TEI's `inputs` hold: one input, or a batch of them. */
export type InputsValue = string | TokenIds | EmbedInput[];

const TOKEN_IDS_SCHEMA = { type: 'array', items: { type: 'integer', minimum: 0, maximum: 0xffffffff } };

/**
 * OpenAI's `input` and TEI's `inputs`: a text, token ids (`[101, 7592, 102]`), or a batch of either. TEI lets a batch
 * mix texts and token id arrays (`mixed`); OpenAI does not. Ids are checked against the vocabulary by the model.
 */
export function InputsField(options: Described & { mixed: boolean }) {
  const { mixed, ...described } = options;
  const batchItems = mixed ? { oneOf: [{ type: 'string' }, TOKEN_IDS_SCHEMA] } : undefined;
  const batches = batchItems
    ? [{ type: 'array', items: batchItems }]
    : [
        { type: 'array', items: { type: 'string' } },
        { type: 'array', items: TOKEN_IDS_SCHEMA },
      ];
  return applyDecorators(
    documented(described, { oneOf: [{ type: 'string' }, TOKEN_IDS_SCHEMA, ...batches] }),
    ValidateBy({
      name: 'isEmbedInputs',
      validator: {
        validate: (value: unknown) => inputsProblem(value, '', mixed) === undefined,
        defaultMessage: (args) => inputsProblem(args?.value, args?.property ?? 'input', mixed) ?? '',
      },
    }),
  );
}

/** One input per entry, and whether the request sent a single one (answered as a batch of one in OpenAI's shape). */
export function toInputs(value: InputsValue): { inputs: EmbedInput[]; single: boolean } {
  if (typeof value === 'string') return { inputs: [value], single: true };
  if (value.length > 0 && typeof value[0] === 'number') return { inputs: [value as TokenIds], single: true };
  return { inputs: value as EmbedInput[], single: false };
}

function inputsProblem(value: unknown, property: string, mixed: boolean): string | undefined {
  if (typeof value === 'string') return undefined;
  if (!Array.isArray(value)) return `${property} must be a string, an array of strings, or token ids`;
  if (typeof value[0] === 'number') return idsProblem(value, property);
  const first = typeof value[0] === 'string' ? 'string' : 'ids';
  for (const [index, item] of value.entries()) {
    const label = `${property}[${index}]`;
    const kind = typeof item === 'string' ? 'string' : Array.isArray(item) ? 'ids' : undefined;
    if (kind === undefined || (!mixed && kind !== first)) {
      if (mixed) return `${label} must be a string or an array of token ids`;
      return first === 'string' ? `${label} must be a string` : `${label} must be an array of token ids`;
    }
    const problem = kind === 'ids' ? idsProblem(item as unknown[], label) : undefined;
    if (problem) return problem;
  }
  return undefined;
}

function idsProblem(ids: unknown[], label: string): string | undefined {
  if (isTokenIds(ids)) return undefined;
  const index = ids.findIndex((id) => !isTokenIds([id]));
  return `${label}[${index}] must be a token id (an integer from 0 to 4294967295)`;
}

/** TEI's /decode `ids`: one list of token ids, or several. */
export function TokenIdListsField(options: Described) {
  return applyDecorators(
    documented(options, { oneOf: [TOKEN_IDS_SCHEMA, { type: 'array', items: TOKEN_IDS_SCHEMA }] }),
    ValidateBy({
      name: 'isTokenIdLists',
      validator: {
        validate: (value: unknown) => idListsProblem(value, '') === undefined,
        defaultMessage: (args) => idListsProblem(args?.value, args?.property ?? 'ids') ?? '',
      },
    }),
  );
}

function idListsProblem(value: unknown, property: string): string | undefined {
  if (!Array.isArray(value)) return `${property} must be an array of token ids, or an array of such arrays`;
  if (!Array.isArray(value[0])) return idsProblem(value, property);
  const index = value.findIndex((item) => !Array.isArray(item));
  if (index >= 0) return `${property}[${index}] must be an array of token ids`;
  return value.map((ids: unknown[], index) => idsProblem(ids, `${property}[${index}]`)).find(Boolean);
}

/**
 * Matryoshka `dimensions`, optional; null counts as absent, as in TEI (`Option<usize>`) and OpenAI, so clients that
 * send every field get the model's full vectors.
 */
export function DimensionsField(description: string) {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => value ?? undefined),
    IntField({ description, optional: true, min: 1 }),
    ApiPropertyOptional({ type: 'integer', minimum: 1, nullable: true, description }),
  );
}

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
