import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from './error-response.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input; the message names the field',
  401: 'Missing or wrong API key (only when API_KEY is set)',
  404: 'No such task or chunk',
  409: "The task's status does not allow this action",
  413: 'Too many chunks in one request, a text over TASK_MAX_TEXT_CHARS, or a body over HTTP_BODY_LIMIT',
};

/** Documents the error responses an endpoint can give, all with the same body. */
export function ApiErrors(...statuses: number[]) {
  return applyDecorators(
    ...[401, ...statuses].map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status], type: ErrorResponseDto }),
    ),
  );
}
