import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus } from '@nestjs/common';
import { Response } from 'express';
import { assertUnreachable } from '../common/assert-unreachable';
import { ReceiverError, ReceiverErrorCode } from './receiver.errors';

/** Receiver failures in the service's usual error body, `{statusCode, message, error}`; a refusal adds `items`. */
@Catch(ReceiverError)
export class ReceiverExceptionFilter implements ExceptionFilter<ReceiverError> {
  catch(error: ReceiverError, host: ArgumentsHost): void {
    host.switchToHttp().getResponse<Response>().status(statusOf(error.code)).json(bodyOf(error));
  }
}

function statusOf(code: ReceiverErrorCode): number {
  switch (code) {
    case ReceiverErrorCode.Rejected:
      return HttpStatus.UNPROCESSABLE_ENTITY;
    case ReceiverErrorCode.NotStored:
    case ReceiverErrorCode.ModelRequired:
      return HttpStatus.NOT_FOUND;
    default:
      return assertUnreachable(code);
  }
}

function bodyOf({ code, message, items }: ReceiverError) {
  if (code === ReceiverErrorCode.Rejected) {
    return { statusCode: 422, error: 'Unprocessable Entity', message, items };
  }
  return { statusCode: 404, message, error: 'Not Found' };
}
