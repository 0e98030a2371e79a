import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { EMBEDDING_DEVICES, EmbeddingDevice } from './env.dto';

export const MODEL_BACKENDS = ['onnx', 'tei', 'openai'] as const;

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => {
  const message =
    max === Number.MAX_SAFE_INTEGER ? `must be an integer >= ${min}` : `must be an integer from ${min} to ${max}`;
  return [IsOptional(), IsInt({ message }), Min(min, { message }), Max(max, { message })];
};
const apply =
  (decorators: PropertyDecorator[]): PropertyDecorator =>
  (target, key) =>
    decorators.forEach((decorate) => decorate(target, key));
const OptionalInt = (min: number, max?: number) => apply(int(min, max));
const OptionalText = () => apply([IsOptional(), IsString({ message: 'must be a string' })]);

/** `budget:` of an OpenAI-compatible model: what the remote allows, so the client stays under it. */
export class BudgetDto {
  @OptionalInt(1)
  requests_per_minute?: number;

  @OptionalInt(1)
  tokens_per_minute?: number;

  @OptionalInt(1, 1024)
  concurrency?: number;
}

/**
 * One entry of EMBEDDING_MODELS_FILE, as written (snake_case). Which fields a back end takes is checked apart
 * (FIELDS_BY_BACKEND in models-file.ts), so a field given to the wrong back end is named rather than ignored.
 */
export class ModelEntryDto {
  @Matches(/^[^\s,]+$/, { message: 'must be a name without spaces or commas' })
  @IsString({ message: 'is required: the model name tasks and requests use' })
  id: string;

  @IsIn(MODEL_BACKENDS, { message: `must be one of: ${MODEL_BACKENDS.join(', ')}` })
  backend: (typeof MODEL_BACKENDS)[number];

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'must be a number >= 0' })
  @Min(0, { message: 'must be a number >= 0' })
  price_per_million_tokens?: number;

  @OptionalText()
  source?: string;

  @IsOptional()
  @Matches(/^[\w./-]+\.onnx$/, { message: 'must name an .onnx file, e.g. onnx/model_quantized.onnx' })
  file?: string;

  @IsOptional()
  @IsIn(EMBEDDING_DEVICES, { message: `must be one of: ${EMBEDDING_DEVICES.join(', ')}` })
  device?: EmbeddingDevice;

  @OptionalInt(0, 64)
  device_id?: number;

  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http:// or https:// URL' })
  url?: string;

  @OptionalText()
  model?: string;

  @IsOptional()
  @Matches(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must name an environment variable' })
  api_key_env?: string;

  @OptionalText()
  api_key_file?: string;

  @OptionalInt(1)
  timeout_ms?: number;

  @OptionalInt(1, 100)
  max_attempts?: number;

  @OptionalInt(0)
  retry_base_ms?: number;

  @OptionalInt(0)
  startup_wait_ms?: number;

  @OptionalInt(1)
  dimensions?: number;

  @IsOptional()
  @IsBoolean({ message: 'must be true or false' })
  supports_dimensions?: boolean;

  @OptionalInt(1, 100000)
  max_inputs?: number;

  @OptionalInt(1)
  max_request_tokens?: number;

  @OptionalInt(1)
  max_input_tokens?: number;

  @OptionalText()
  tokenizer?: string;

  @IsOptional()
  @IsObject({ message: 'must be a mapping of requests_per_minute, tokens_per_minute, concurrency' })
  @ValidateNested()
  @Type(() => BudgetDto)
  budget?: BudgetDto;
}

export class ModelsFileDto {
  @IsArray({ message: 'must be a list of model entries' })
  @ValidateNested({ each: true })
  @Type(() => ModelEntryDto)
  models: ModelEntryDto[];
}
