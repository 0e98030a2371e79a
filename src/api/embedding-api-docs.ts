import { applyDecorators, Type } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/error-response.dto';
import { OpenAiErrorResponseDto } from './openai/openai.dto';
import { TeiErrorResponseDto } from './tei-compat/tei-compat.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input: an empty list or text, a wrong type, an unknown prompt, dimensions out of range, or a text over the token limit with truncate=false; the message names the field and index',
  401: 'Missing or wrong API key (only when API_KEY is set)',
  404: 'Unknown model; the message names the served ones',
  413: 'More inputs than EMBED_MAX_INPUTS, a text over EMBED_MAX_INPUT_CHARS characters, or an answer that would be larger than HTTP_RESPONSE_LIMIT; the message names the limit',
  422: 'Invalid input (TEI reports body errors as 422)',
  424: 'The model failed while embedding',
  500: 'The model failed while embedding',
  503: 'No model configured on this instance, the model is not loaded yet, or the answers in flight hold HTTP_MEMORY_BUDGET (with Retry-After)',
};

function apiErrors(type: Type<unknown>, statuses: number[], overrides: Record<number, string>) {
  return applyDecorators(
    ...[401, ...statuses].map((status) =>
      ApiResponse({ status, description: overrides[status] ?? DESCRIPTIONS[status], type }),
    ),
  );
}

/** The native routes' errors, in the service's usual body. */
export function ApiEmbeddingErrors(...statuses: number[]) {
  return apiErrors(ErrorResponseDto, statuses, {});
}

/** Errors of the OpenAI-compatible route, in OpenAI's body. */
export function ApiOpenAiErrors(...statuses: number[]) {
  return apiErrors(OpenAiErrorResponseDto, statuses, {});
}

/** Errors of the TEI-compatible routes, in TEI's body and with TEI's status codes. */
export function ApiTeiErrors(...statuses: number[]) {
  return apiErrors(TeiErrorResponseDto, statuses, {
    400: 'Empty `inputs` list (error_type Empty)',
    413: 'Input validation error (error_type Validation): batch size over EMBED_MAX_INPUTS, an empty text, a text over the token limit with truncate=false, a text over EMBED_MAX_INPUT_CHARS, an unknown prompt_name or bad dimensions',
    422: 'Malformed body, or an answer larger than HTTP_RESPONSE_LIMIT (error_type Validation): a wrong type, an unknown field, or truncation_direction Left',
    429: 'The answers in flight hold HTTP_MEMORY_BUDGET (error_type Overloaded, with Retry-After)',
    503: 'No model configured or not loaded yet (error_type Unhealthy)',
    424: 'The model failed while embedding (error_type Backend)',
  });
}
