import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { Response } from 'express';
import { EmbeddingError, EmbeddingInputError, ModelNotReadyError, UnknownModelError } from '../../embedding.errors';
import { embeddingErrorStatus, InputLimitError } from '../../embedding-request.errors';
import { OpenAiErrorDto } from './openai.dto';

/** Request fields of OpenAI's embeddings API, to name the one a validation message starts with. */
const PARAMS = ['input', 'model', 'encoding_format', 'dimensions', 'user'];

/** Every failure on the OpenAI-compatible route in OpenAI's body: `{error: {message, type, param, code}}`. */
@Catch()
export class OpenAiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('OpenAI');

  catch(exception: unknown, host: ArgumentsHost): void {
    const { status, error } = this.toOpenAiError(exception);
    host.switchToHttp().getResponse<Response>().status(status).json({ error });
  }

  private toOpenAiError(exception: unknown): { status: number; error: OpenAiErrorDto } {
    if (exception instanceof EmbeddingError) return fromEmbeddingError(exception);
    if (exception instanceof HttpException) return fromHttpException(exception);
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    return { status: 500, error: body(500, 'The server failed while embedding', null, null) };
  }
}

function fromEmbeddingError(error: EmbeddingError): { status: number; error: OpenAiErrorDto } {
  const status = embeddingErrorStatus(error);
  const param =
    error instanceof UnknownModelError ? 'model' : error instanceof EmbeddingInputError ? error.field : null;
  return { status, error: body(status, error.message, param, codeOf(error)) };
}

function codeOf(error: EmbeddingError): string | null {
  if (error instanceof UnknownModelError) return 'model_not_found';
  if (error instanceof ModelNotReadyError) return 'model_not_ready';
  if (error instanceof InputLimitError) return 'request_too_large';
  return null;
}

/** Validation (400), the API key guard (401) and anything else Nest raises. */
function fromHttpException(exception: HttpException): { status: number; error: OpenAiErrorDto } {
  const status = exception.getStatus();
  const response = exception.getResponse();
  const raw = typeof response === 'string' ? response : (response as { message?: string | string[] }).message;
  const messages = Array.isArray(raw) ? raw : [raw ?? exception.message];
  const param = PARAMS.find((name) => new RegExp(`^${name}\\b`).test(messages[0])) ?? null;
  return { status, error: body(status, messages.join('; '), param, status === 401 ? 'invalid_api_key' : null) };
}

function body(status: number, message: string, param: string | null, code: string | null): OpenAiErrorDto {
  return { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param, code };
}
