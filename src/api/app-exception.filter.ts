import { ArgumentsHost, Catch, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { Response } from 'express';
import { isDatabaseUnavailable } from '../database/database-unavailable';
import { describeError, describeWithStack } from '../logging/safe-error';
import { assertUnreachable } from '../common/assert-unreachable';

/** Seconds a client is asked to wait when the database is unavailable: about one reconnect of the pool. */
export const DATABASE_RETRY_AFTER_S = 5;

enum Failure {
  /** Nest's own and the features' HTTP errors: answered as they say, not logged. */
  Http = 'http',
  /** The database cannot be reached now: 503 with Retry-After, a request may succeed later. */
  DatabaseUnavailable = 'database-unavailable',
  /** A bug or a query that failed on its own: 500, logged without its values. */
  Unexpected = 'unexpected',
}

function classify(exception: unknown): Failure {
  if (exception instanceof HttpException) return Failure.Http;
  if (isDatabaseUnavailable(exception)) return Failure.DatabaseUnavailable;
  return Failure.Unexpected;
}

/**
 * What no feature filter caught. It replaces Nest's default handler, which logs an unknown error's message and
 * stack as they are: a failed query's message can quote chunk text or metadata. Features keep their own filters
 * (`@Catch(TaskError)` …), which Nest tries first. The global filter (APP_FILTER) is the embedding API's
 * DialectExceptionFilter, which answers the OpenAI and TEI paths in their dialects and everything else through this.
 */
@Catch()
export class AppExceptionFilter extends BaseExceptionFilter {
  private readonly logger = new Logger('Exceptions');

  catch(exception: unknown, host: ArgumentsHost): void {
    const kind = classify(exception);
    switch (kind) {
      case Failure.Http:
        return super.catch(exception, host);
      case Failure.DatabaseUnavailable:
        this.logger.warn(`database unavailable, answered 503: ${describeError(exception)}`);
        return answer(host, HttpStatus.SERVICE_UNAVAILABLE, 'database unavailable, try again shortly', {
          'retry-after': String(DATABASE_RETRY_AFTER_S),
        });
      case Failure.Unexpected:
        this.logger.error(`unhandled error, answered 500: ${describeWithStack(exception)}`);
        return answer(host, HttpStatus.INTERNAL_SERVER_ERROR, 'Internal server error');
      default:
        return assertUnreachable(kind);
    }
  }
}

function answer(host: ArgumentsHost, status: number, message: string, headers: Record<string, string> = {}): void {
  const response = host.switchToHttp().getResponse<Response>();
  // A stream (an export) that fails midway has sent its status already: cut it, so the client sees it incomplete.
  if (response.headersSent) return void response.destroy();
  response
    .status(status)
    .set(headers)
    .json({ statusCode: status, message, error: reasonOf(status) });
}

const reasonOf = (status: number) => (status === 503 ? 'Service Unavailable' : 'Internal Server Error');
