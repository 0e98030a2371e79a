import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { Response } from 'express';
import { assertUnreachable } from '../../../common/assert-unreachable';
import { messageOf } from '../../../common/message-of';
import { EmbeddingError, EmbeddingErrorCode } from '../../embedding.errors';
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
export class TeiCompatExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('TEI');

  catch(exception: unknown, host: ArgumentsHost): void {
    const { status, body } = this.toTeiError(exception);
    host.switchToHttp().getResponse<Response>().status(status).json(body);
  }

  private toTeiError(exception: unknown): TeiError {
    if (exception instanceof EmbeddingError) return fromEmbeddingError(exception);
    if (exception instanceof HttpException) return fromHttpException(exception);
    this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    return teiError(424, 'Backend', `Inference failed: ${messageOf(exception)}`);
  }
}

function fromEmbeddingError(error: EmbeddingError): TeiError {
  const validation = (message: string) => teiError(413, 'Validation', `Input validation error: ${message}`);
  switch (error.code) {
    case EmbeddingErrorCode.EmptyInput:
      if (error.index === undefined) return teiError(400, 'Empty', '`inputs` cannot be empty');
      return validation('`inputs` cannot be empty');
    case EmbeddingErrorCode.TooManyInputs: {
      const { given, maximum } = error.limit!;
      return teiError(413, 'Validation', `batch size ${given} > maximum allowed batch size ${maximum}`);
    }
    case EmbeddingErrorCode.TooManyTokens: {
      const { given, maximum } = error.limit!;
      return validation(`\`inputs\` must have less than ${maximum} tokens. Given: ${given}`);
    }
    case EmbeddingErrorCode.InvalidInput:
    case EmbeddingErrorCode.InputTooLarge:
      return validation(error.message);
    case EmbeddingErrorCode.UnknownModel:
      return teiError(404, 'Validation', error.message);
    case EmbeddingErrorCode.ModelNotReady:
    case EmbeddingErrorCode.DeliveryUnavailable:
      return teiError(503, 'Unhealthy', error.message);
    case EmbeddingErrorCode.BackendUnavailable:
    case EmbeddingErrorCode.ModelFilesUnavailable:
    case EmbeddingErrorCode.UnsupportedModel:
    case EmbeddingErrorCode.DeviceUnavailable:
    case EmbeddingErrorCode.InvalidConfiguration:
      return teiError(424, 'Backend', `Inference failed: ${error.message}`);
    default:
      return assertUnreachable(error.code);
  }
}

/** Validation errors of the body are TEI's (axum's) 422; the API key guard's 401 and others keep their status. */
function fromHttpException(exception: HttpException): TeiError {
  const response = exception.getResponse();
  const raw = typeof response === 'string' ? response : (response as { message?: string | string[] }).message;
  const message = Array.isArray(raw) ? raw.join('; ') : (raw ?? exception.message);
  const status = exception.getStatus() === 400 ? 422 : exception.getStatus();
  return teiError(status, status >= 500 ? 'Backend' : 'Validation', message);
}
