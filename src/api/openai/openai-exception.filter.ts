import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { Response } from 'express';
import { assertUnreachable } from '../../common/assert-unreachable';
import { EmbeddingError, EmbeddingErrorCode } from '../../embedding/embedding.errors';
import { OpenAiErrorDto } from './openai.dto';
import { setRetryAfter } from '../answer-admission';
import { describeWithStack } from '../../logging/safe-error';

/** Request fields of OpenAI's embeddings API, to name the one a validation message starts with. */
const PARAMS = ['input', 'model', 'encoding_format', 'dimensions', 'user'];

type OpenAiError = { status: number; error: OpenAiErrorDto };

/** Every failure on the OpenAI-compatible route in OpenAI's body: `{error: {message, type, param, code}}`. */
@Catch()
export class OpenAiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('OpenAI');

  catch(exception: unknown, host: ArgumentsHost): void {
    const { status, error } = this.toOpenAiError(exception);
    const response = host.switchToHttp().getResponse<Response>();
    setRetryAfter(response, exception);
    response.status(status).json({ error });
  }

  private toOpenAiError(exception: unknown): OpenAiError {
    if (exception instanceof EmbeddingError) return fromEmbeddingError(exception);
    if (exception instanceof HttpException) return fromHttpException(exception);
    this.logger.error(describeWithStack(exception));
    return { status: 500, error: body(500, 'The server failed while embedding', null, null) };
  }
}

/** The status and OpenAI's `code` of each failure; `param` is the request field at fault. */
function fromEmbeddingError(error: EmbeddingError): OpenAiError {
  const answer = (status: number, code: string | null = null, param = error.field ?? null) => ({
    status,
    error: body(status, error.message, param, code),
  });
  switch (error.code) {
    case EmbeddingErrorCode.InvalidInput:
    case EmbeddingErrorCode.EmptyInput:
    case EmbeddingErrorCode.TooManyTokens:
      return answer(400);
    case EmbeddingErrorCode.UnsupportedOperation:
      // Not a 5xx: the SDKs would retry it for nothing.
      return answer(400, 'unsupported_input');
    case EmbeddingErrorCode.TooManyInputs:
    case EmbeddingErrorCode.InputTooLarge:
      return answer(413, 'request_too_large');
    case EmbeddingErrorCode.AnswerTooLarge:
      return answer(413, 'response_too_large');
    case EmbeddingErrorCode.Overloaded:
      return answer(503, 'overloaded');
    case EmbeddingErrorCode.UnknownModel:
      return answer(404, 'model_not_found', 'model');
    case EmbeddingErrorCode.ModelNotReady:
      return answer(503, 'model_not_ready');
    case EmbeddingErrorCode.DeliveryUnavailable:
      return answer(503);
    case EmbeddingErrorCode.BackendUnavailable:
    case EmbeddingErrorCode.ModelFilesUnavailable:
    case EmbeddingErrorCode.UnsupportedModel:
    case EmbeddingErrorCode.DeviceUnavailable:
    case EmbeddingErrorCode.InvalidConfiguration:
      return answer(500);
    default:
      return assertUnreachable(error.code);
  }
}

/** Validation (400), the API key guard (401), a body that is not JSON or too large, and anything else Nest raises. */
function fromHttpException(exception: HttpException): OpenAiError {
  const status = exception.getStatus();
  if (exception.cause instanceof SyntaxError) {
    const message = `We could not parse the JSON body of your request: ${exception.message}`;
    return { status, error: body(status, message, null, null) };
  }
  if (status === 413) return { status, error: body(status, exception.message, null, 'request_too_large') };
  const response = exception.getResponse();
  const raw = typeof response === 'string' ? response : (response as { message?: string | string[] }).message;
  const messages = Array.isArray(raw) ? raw : [raw ?? exception.message];
  const param = PARAMS.find((name) => new RegExp(`^${name}\\b`).test(messages[0])) ?? null;
  return { status, error: body(status, messages.join('; '), param, status === 401 ? 'invalid_api_key' : null) };
}

function body(status: number, message: string, param: string | null, code: string | null): OpenAiErrorDto {
  return { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param, code };
}
