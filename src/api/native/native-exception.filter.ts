import {
  ArgumentsHost,
  BadRequestException,
  Catch,
  ExceptionFilter,
  HttpException,
  InternalServerErrorException,
  NotFoundException,
  NotImplementedException,
  PayloadTooLargeException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { Response } from 'express';
import { assertUnreachable } from '../../common/assert-unreachable';
import { EmbeddingError, EmbeddingErrorCode } from '../../embedding/embedding.errors';
import { setRetryAfter } from '../answer-admission';

/** Embedding failures in the service's usual error body, `{statusCode, message, error}`. */
@Catch(EmbeddingError)
export class NativeExceptionFilter implements ExceptionFilter<EmbeddingError> {
  catch(error: EmbeddingError, host: ArgumentsHost): void {
    const exception = toHttpException(error);
    const response = host.switchToHttp().getResponse<Response>();
    setRetryAfter(response, error);
    response.status(exception.getStatus()).json(exception.getResponse());
  }
}

function toHttpException({ code, message }: EmbeddingError): HttpException {
  switch (code) {
    case EmbeddingErrorCode.InvalidInput:
    case EmbeddingErrorCode.EmptyInput:
    case EmbeddingErrorCode.TooManyTokens:
      return new BadRequestException(message);
    case EmbeddingErrorCode.TooManyInputs:
    case EmbeddingErrorCode.InputTooLarge:
    case EmbeddingErrorCode.AnswerTooLarge:
      return new PayloadTooLargeException(message);
    case EmbeddingErrorCode.UnknownModel:
      return new NotFoundException(message);
    case EmbeddingErrorCode.UnsupportedOperation:
      return new NotImplementedException(message);
    case EmbeddingErrorCode.ModelNotReady:
    case EmbeddingErrorCode.DeliveryUnavailable:
    case EmbeddingErrorCode.Overloaded:
      return new ServiceUnavailableException(message);
    case EmbeddingErrorCode.BackendUnavailable:
    case EmbeddingErrorCode.ModelFilesUnavailable:
    case EmbeddingErrorCode.UnsupportedModel:
    case EmbeddingErrorCode.DeviceUnavailable:
    case EmbeddingErrorCode.InvalidConfiguration:
      return new InternalServerErrorException(message);
    default:
      return assertUnreachable(code);
  }
}
