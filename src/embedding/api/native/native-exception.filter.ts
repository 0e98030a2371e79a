import {
  ArgumentsHost,
  BadRequestException,
  Catch,
  ExceptionFilter,
  HttpException,
  InternalServerErrorException,
  NotFoundException,
  PayloadTooLargeException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { Response } from 'express';
import { EmbeddingError } from '../../embedding.errors';
import { embeddingErrorStatus } from '../../embedding-request.errors';

const EXCEPTIONS: Record<number, new (message: string) => HttpException> = {
  400: BadRequestException,
  404: NotFoundException,
  413: PayloadTooLargeException,
  503: ServiceUnavailableException,
};

/** Embedding failures in the service's usual error body, `{statusCode, message, error}`. */
@Catch(EmbeddingError)
export class EmbeddingExceptionFilter implements ExceptionFilter<EmbeddingError> {
  catch(error: EmbeddingError, host: ArgumentsHost): void {
    const Exception = EXCEPTIONS[embeddingErrorStatus(error)] ?? InternalServerErrorException;
    const exception = new Exception(error.message);
    host.switchToHttp().getResponse<Response>().status(exception.getStatus()).json(exception.getResponse());
  }
}
