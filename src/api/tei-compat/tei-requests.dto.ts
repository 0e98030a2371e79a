import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsArray, IsIn, IsObject, IsOptional, IsString, ValidateNested } from 'class-validator';
import {
  BoolField,
  DimensionsField,
  InputsField,
  InputsValue,
  StringField,
  TextsField,
  TokenIdListsField,
} from '../embedding-fields';

// Text Embeddings Inference's request bodies (router/src/http/types.rs at v1.9.3). TEI ignores fields it does not
// know, so these routes do too (see TeiBody); `null` counts as absent for every optional field, as serde's Option.

/** TEI accepts either spelling; only right truncation (keep the start) is implemented. */
export const TRUNCATION_DIRECTIONS = ['Right', 'right'] as const;

const PROMPT_NAME = 'A prompt from the model\'s config_sentence_transformers.json, e.g. "query"; default: its default';
const TRUNCATE =
  "Cut inputs longer than the model's limit; default EMBED_AUTO_TRUNCATE (true, as TEI 1.9's --auto-truncate); " +
  'false: such an input is a 422';

class TruncationDto {
  @BoolField({ description: TRUNCATE, optional: true })
  truncate?: boolean | null;

  @ApiPropertyOptional({
    enum: TRUNCATION_DIRECTIONS,
    description: 'Only Right (keep the start); Left is refused with 422',
  })
  @IsOptional()
  @IsIn(TRUNCATION_DIRECTIONS, { message: 'truncation_direction must be Right: Left truncation is not supported' })
  truncation_direction?: string | null;

  @StringField({ description: PROMPT_NAME, optional: true })
  prompt_name?: string | null;
}

/** What /embed, /embed_all and /embed_sparse share: the inputs, truncation, the prompt (EmbedAllRequest). */
export class TeiInputsRequestDto extends TruncationDto {
  @InputsField({
    description: 'A string, token ids, or an array of strings and token id arrays',
    example: 'What is Deep Learning?',
    mixed: true,
  })
  inputs: InputsValue;

  @StringField({
    description: 'Not in TEI, which serves one model: a served model id; default: the first',
    optional: true,
  })
  model?: string | null;
}

/** `POST /embed` (EmbedRequest). */
export class TeiEmbedRequestDto extends TeiInputsRequestDto {
  @BoolField({ description: 'L2-normalise the vectors', optional: true, default: true })
  normalize?: boolean | null;

  @DimensionsField('Keep the first N dimensions (Matryoshka); null: all')
  dimensions?: number;
}

/** `POST /tokenize` (TokenizeRequest). */
export class TeiTokenizeRequestDto {
  @TextsField({ description: 'A string or an array of strings', example: 'test' })
  inputs: string | string[];

  @BoolField({ description: "Add the model's special tokens", optional: true, default: true })
  add_special_tokens?: boolean | null;

  @StringField({ description: PROMPT_NAME, optional: true })
  prompt_name?: string | null;

  @StringField({ description: 'Not in TEI: a served model id; default: the first', optional: true })
  model?: string | null;
}

/** `POST /decode` (DecodeRequest). */
export class TeiDecodeRequestDto {
  @TokenIdListsField({ description: 'Token ids, or an array of token id arrays', example: [101, 7592, 102] })
  ids: number[] | number[][];

  @BoolField({ description: 'Leave out special tokens', optional: true, default: true })
  skip_special_tokens?: boolean | null;

  @StringField({ description: 'Not in TEI: a served model id; default: the first', optional: true })
  model?: string | null;
}

/** SimilarityInput. */
export class TeiSimilarityInputDto {
  @ApiProperty({ description: 'The text the others are compared with', example: 'What is Deep Learning?' })
  @IsString({ message: '$property must be a string' })
  source_sentence: string;

  @ApiProperty({ type: [String], example: ['What is Machine Learning?'] })
  @IsArray({ message: '$property must be an array of strings' })
  @IsString({ each: true, message: '$property must be an array of strings' })
  sentences: string[];
}

/** SimilarityParameters. */
export class TeiSimilarityParametersDto extends TruncationDto {}

/** `POST /similarity` (SimilarityRequest): cosine similarity of the source sentence to each sentence. */
export class TeiSimilarityRequestDto {
  @ApiProperty({ type: TeiSimilarityInputDto })
  // ValidateNested alone lets a missing `inputs`, or an array (each element checked: none), through to the service.
  @IsObject({ message: '$property must be an object with source_sentence and sentences' })
  @ValidateNested()
  @Type(() => TeiSimilarityInputDto)
  inputs: TeiSimilarityInputDto;

  @ApiPropertyOptional({ type: TeiSimilarityParametersDto, nullable: true })
  @IsOptional()
  @IsObject({ message: '$property must be an object' })
  @ValidateNested()
  @Type(() => TeiSimilarityParametersDto)
  parameters?: TeiSimilarityParametersDto | null;

  @StringField({ description: 'Not in TEI: a served model id; default: the first', optional: true })
  model?: string | null;
}
