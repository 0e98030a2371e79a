import {
  ArgumentsHost,
  BadRequestException,
  Catch,
  ConflictException,
  ExceptionFilter,
  HttpException,
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
    host.switchToHttp().getResponse<Response>().status(exception.getStatus()).json(exception.getResponse());
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
    default:
      return assertUnreachable(code);
  }
}
