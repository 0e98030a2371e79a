import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from './error-response.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input; the message names the field',
  401: 'Missing or wrong API key (only when API_KEY is set)',
  404: 'No such task or chunk',
  409: "The task's status does not allow this action",
  413: 'Too many chunks in one request, a text over TASK_MAX_TEXT_CHARS, or a body over HTTP_BODY_LIMIT',
  429: 'Too many of these at once (TASK_EXPORT_MAX_CONCURRENT exports); try again after Retry-After seconds',
  503: 'The database is unavailable; nothing was written. Try again after Retry-After seconds',
};

/** Every route these document reads or writes the database: while it is down they answer 503 (AppExceptionFilter). */
const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } },
};

/** Documents the error responses an endpoint can give, all with the same body; 401 and 503 on every one. */
export function ApiErrors(...statuses: number[]) {
  return applyDecorators(
    ...[401, ...statuses].map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status],
        type: ErrorResponseDto,
        ...(status === 429 ? { headers: RETRY_AFTER } : {}),
      }),
    ),
    ApiResponse({ status: 503, description: DESCRIPTIONS[503], type: ErrorResponseDto, headers: RETRY_AFTER }),
  );
}
