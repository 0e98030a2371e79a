import {
  ArgumentsHost,
  BadRequestException,
  Catch,
  ConflictException,
  ExceptionFilter,
  HttpException,
  NotFoundException,
  NotImplementedException,
  PayloadTooLargeException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { Response } from 'express';
import { assertUnreachable } from '../common/assert-unreachable';
import { SearchError, SearchErrorCode } from './search.errors';

/** Search failures in the service's usual error body, `{statusCode, message, error}`. */
@Catch(SearchError)
export class SearchExceptionFilter implements ExceptionFilter<SearchError> {
  catch(error: SearchError, host: ArgumentsHost): void {
    const exception = toHttpException(error);
    host.switchToHttp().getResponse<Response>().status(exception.getStatus()).json(exception.getResponse());
  }
}

function toHttpException({ code, message }: SearchError): HttpException {
  switch (code) {
    case SearchErrorCode.InvalidInput:
      return new BadRequestException(message);
    case SearchErrorCode.QueryTooLarge:
      return new PayloadTooLargeException(message);
    case SearchErrorCode.NotFound:
      return new NotFoundException(message);
    case SearchErrorCode.NotIndexable:
      return new ConflictException(message);
    case SearchErrorCode.Unavailable:
      return new ServiceUnavailableException(message);
    case SearchErrorCode.Unsupported:
      return new NotImplementedException(message);
    default:
      return assertUnreachable(code);
  }
}
