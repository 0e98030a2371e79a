import {
  ArgumentsHost,
  BadRequestException,
  Catch,
  ConflictException,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  NotFoundException,
  PayloadTooLargeException,
} from '@nestjs/common';
import { Response } from 'express';
import { assertUnreachable } from '../common/assert-unreachable';
import { TaskError, TaskErrorCode } from './task.errors';

/** Task failures in the service's usual error body, `{statusCode, message, error}`. */
@Catch(TaskError)
export class TaskExceptionFilter implements ExceptionFilter<TaskError> {
  catch(error: TaskError, host: ArgumentsHost): void {
    const exception = toHttpException(error);
    const response = host.switchToHttp().getResponse<Response>();
    if (error.retryAfterSeconds !== undefined) response.setHeader('Retry-After', String(error.retryAfterSeconds));
    response.status(exception.getStatus()).json(exception.getResponse());
  }
}

function toHttpException({ code, message }: TaskError): HttpException {
  switch (code) {
    case TaskErrorCode.NotFound:
      return new NotFoundException(message);
    case TaskErrorCode.Conflict:
      return new ConflictException(message);
    case TaskErrorCode.InvalidInput:
      return new BadRequestException(message);
    case TaskErrorCode.TooManyChunks:
    case TaskErrorCode.TextTooLong:
      return new PayloadTooLargeException(message);
    case TaskErrorCode.TooManyExports:
      return new HttpException(
        { statusCode: HttpStatus.TOO_MANY_REQUESTS, message, error: 'Too Many Requests' },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    default:
      return assertUnreachable(code);
  }
}
