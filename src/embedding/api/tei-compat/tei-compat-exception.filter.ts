import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { Response } from 'express';
import {
  EmbeddingError,
  EmbeddingInputError,
  InputTooLongError,
  ModelNotReadyError,
  UnknownModelError,
} from '../../embedding.errors';
import { EmptyInputError, InputLimitError } from '../../embedding-request.errors';
import { TeiErrorResponseDto, TeiErrorType } from './tei-compat.dto';

type TeiError = { status: number; body: TeiErrorResponseDto };

const teiError = (status: number, error_type: TeiErrorType, error: string): TeiError => ({
  status,
  body: { error, error_type },
});

/**
 * Every failure on the TEI-compatible routes in TEI's body, `{error, error_type}`, with TEI's statuses and
 * messages (router/src/http/server.rs): its input validation errors are 413 Validation, an empty batch is 400
 * Empty, a body it cannot parse is 422, a backend failure is 424.
 */
@Catch()
export class TeiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('TEI');

  catch(exception: unknown, host: ArgumentsHost): void {
    const { status, body } = this.toTeiError(exception);
    host.switchToHttp().getResponse<Response>().status(status).json(body);
  }

  private toTeiError(exception: unknown): TeiError {
    if (exception instanceof EmbeddingInputError) return fromInputError(exception);
    if (exception instanceof UnknownModelError) return teiError(404, 'Validation', exception.message);
    if (exception instanceof ModelNotReadyError) return teiError(503, 'Unhealthy', exception.message);
    if (exception instanceof HttpException) return fromHttpException(exception);
    const message = exception instanceof Error ? exception.message : String(exception);
    if (!(exception instanceof EmbeddingError)) {
      this.logger.error(exception instanceof Error ? exception.stack : message);
    }
    return teiError(424, 'Backend', `Inference failed: ${message}`);
  }
}

function fromInputError(error: EmbeddingInputError): TeiError {
  if (error instanceof EmptyInputError && error.index === undefined) {
    return teiError(400, 'Empty', '`inputs` cannot be empty');
  }
  if (error instanceof InputLimitError && error.limit === 'inputs') {
    return teiError(413, 'Validation', `batch size ${error.given} > maximum allowed batch size ${error.maximum}`);
  }
  return teiError(413, 'Validation', `Input validation error: ${validationMessage(error)}`);
}

function validationMessage(error: EmbeddingInputError): string {
  if (error instanceof EmptyInputError) return '`inputs` cannot be empty';
  if (error instanceof InputTooLongError) {
    return `\`inputs\` must have less than ${error.maxTokens} tokens. Given: ${error.tokens}`;
  }
  return error.message;
}

/** Validation errors of the body are TEI's (axum's) 422; the API key guard's 401 and others keep their status. */
function fromHttpException(exception: HttpException): TeiError {
  const response = exception.getResponse();
  const raw = typeof response === 'string' ? response : (response as { message?: string | string[] }).message;
  const message = Array.isArray(raw) ? raw.join('; ') : (raw ?? exception.message);
  const status = exception.getStatus() === 400 ? 422 : exception.getStatus();
  return teiError(status, status >= 500 ? 'Backend' : 'Validation', message);
}
