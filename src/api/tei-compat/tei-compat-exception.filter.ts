import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { Response } from 'express';
import { assertUnreachable } from '../../common/assert-unreachable';
import { messageOf } from '../../common/message-of';
import { EmbeddingError, EmbeddingErrorCode } from '../../embedding/embedding.errors';
import { TeiErrorResponseDto, TeiErrorType } from './tei-compat.dto';
import { describeWithStack } from '../../logging/safe-error';
import { setRetryAfter } from '../answer-admission';

type TeiError = { status: number; body: TeiErrorResponseDto };

/** TEI 1.9's status of each error type (router/src/http/server.rs, `impl From<&ErrorType> for StatusCode`). */
const TEI_STATUS: Record<TeiErrorType, number> = {
  Unhealthy: 503,
  Backend: 424,
  Overloaded: 429,
  Validation: 422,
  Tokenizer: 422,
  Empty: 400,
};

const teiError = (error_type: TeiErrorType, error: string, status = TEI_STATUS[error_type]): TeiError => ({
  status,
  body: { error, error_type },
});

/**
 * Every failure on the TEI-compatible routes in TEI's body, `{error, error_type}`, with TEI 1.9's statuses and
 * messages (router/src/http/server.rs, core/src/lib.rs): input validation errors are 422 Validation (413 before
 * 1.9), an empty batch or input 400 Empty, a back end failure 424 Backend. A body that cannot be read is axum's 400
 * (not JSON) or 422 (wrong shape).
 */
@Catch()
export class TeiCompatExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('TEI');

  catch(exception: unknown, host: ArgumentsHost): void {
    const { status, body } = this.toTeiError(exception);
    const response = host.switchToHttp().getResponse<Response>();
    setRetryAfter(response, exception);
    response.status(status).json(body);
  }

  private toTeiError(exception: unknown): TeiError {
    if (exception instanceof EmbeddingError) return fromEmbeddingError(exception);
    if (exception instanceof HttpException) return fromHttpException(exception);
    this.logger.error(describeWithStack(exception));
    return teiError('Backend', `Backend error: ${messageOf(exception)}`);
  }
}

function fromEmbeddingError(error: EmbeddingError): TeiError {
  // core's TextEmbeddingsError says "Input validation error: …" for both Validation and Empty.
  const validation = (message: string) => teiError('Validation', `Input validation error: ${message}`);
  switch (error.code) {
    case EmbeddingErrorCode.EmptyInput:
      if (error.index === undefined) return teiError('Empty', `\`${error.field ?? 'inputs'}\` cannot be empty`);
      return teiError('Empty', `Input validation error: \`${error.field ?? 'inputs'}\` cannot be empty`);
    case EmbeddingErrorCode.TooManyInputs: {
      const { given, maximum } = error.limit!;
      return teiError('Validation', `batch size ${given} > maximum allowed batch size ${maximum}`);
    }
    case EmbeddingErrorCode.TooManyTokens: {
      const { given, maximum } = error.limit!;
      return validation(`\`inputs\` must have less than ${maximum} tokens. Given: ${given}`);
    }
    case EmbeddingErrorCode.InvalidInput:
    case EmbeddingErrorCode.InputTooLarge:
    case EmbeddingErrorCode.AnswerTooLarge:
      return validation(error.message);
    case EmbeddingErrorCode.Overloaded:
      return teiError('Overloaded', `Model is overloaded: ${error.message}`);
    case EmbeddingErrorCode.UnknownModel:
      return teiError('Validation', error.message, 404);
    case EmbeddingErrorCode.ModelNotReady:
    case EmbeddingErrorCode.DeliveryUnavailable:
      return teiError('Unhealthy', error.message);
    case EmbeddingErrorCode.UnsupportedOperation:
    case EmbeddingErrorCode.BackendUnavailable:
    case EmbeddingErrorCode.ModelFilesUnavailable:
    case EmbeddingErrorCode.UnsupportedModel:
    case EmbeddingErrorCode.DeviceUnavailable:
    case EmbeddingErrorCode.InvalidConfiguration:
      return teiError('Backend', `Backend error: ${error.message}`);
    default:
      return assertUnreachable(error.code);
  }
}

/**
 * A body that is not JSON is axum's 400, one of the wrong shape (Nest's validation 400) axum's 422; a body over the
 * limit stays 413 and the API key guard's 401 stays 401.
 */
function fromHttpException(exception: HttpException): TeiError {
  const response = exception.getResponse();
  const raw = typeof response === 'string' ? response : (response as { message?: string | string[] }).message;
  const message = Array.isArray(raw) ? raw.join('; ') : (raw ?? exception.message);
  if (exception.cause instanceof SyntaxError) {
    return teiError('Validation', `Failed to parse the JSON request body: ${message}`, 400);
  }
  const status = exception.getStatus() === 400 ? 422 : exception.getStatus();
  return teiError(status >= 500 ? 'Backend' : 'Validation', message, status);
}
