import { BadRequestException, HttpException, PayloadTooLargeException } from '@nestjs/common';
import { json, NextFunction, Request, RequestHandler, Response } from 'express';
import { isUtf8 } from 'node:buffer';
import { STATUS_CODES } from 'node:http';
import { BODY_MAX_DEPTH, findShapeProblemYielding } from './json-shape';

/**
 * A body that cannot be taken as sent. A SyntaxError, like body-parser's own for a body that is not JSON, so that
 * the TEI routes answer it as axum answers a body serde cannot read (400, not the 422 of a body of the wrong shape).
 */
class UnreadableBody extends SyntaxError {}

/**
 * Invalid UTF-8 is refused before body-parser decodes the body, which would silently turn it into U+FFFD: a chunk's
 * stored text, and so its content hash, would then not be what the client sent.
 */
function assertUtf8(_request: Request, _response: Response, buffer: Buffer, encoding: string): void {
  if (!/^utf-?8$/i.test(encoding)) return;
  // isUtf8 checks without decoding (simdutf): a few ms for 16 MB, where a fatal TextDecoder took 15 to 35.
  if (!isUtf8(buffer)) throw Object.assign(new UnreadableBody('the request body is not valid UTF-8'), { status: 400 });
}

/**
 * body-parser's errors (400 not JSON, 413 over HTTP_BODY_LIMIT, 415 a charset it cannot read) as Nest exceptions
 * with the usual body `{statusCode, message, error}`; anything else stays a server error.
 */
function toHttpException(error: Error & { status?: number; expose?: boolean }): Error {
  const status = error.status;
  if (!status || status >= 500) return error;
  const message = error.expose === false ? (STATUS_CODES[status] ?? 'Bad request') : error.message;
  if (status === 400) return new BadRequestException(message, { cause: error });
  if (status === 413) return new PayloadTooLargeException(message, { cause: error });
  return new HttpException({ statusCode: status, message, error: STATUS_CODES[status] }, status, { cause: error });
}

/**
 * After parsing: no lone surrogate in any string or key (a `\ud800` escape parses to one; PostgreSQL and UTF-8
 * cannot hold it) and no nesting deeper than BODY_MAX_DEPTH, which would overflow class-transformer's recursion.
 * Walked iteratively, yielding now and then, so a big body neither overflows the stack nor holds the event loop.
 */
function checkShape(request: Request, next: NextFunction): void {
  if (request.body === null || typeof request.body !== 'object') return next();
  findShapeProblemYielding(request.body, { maxDepth: BODY_MAX_DEPTH, refuseNul: false }).then((problem) => {
    if (!problem) return next();
    const message = `${problem.path || 'body'} ${problem.message}`;
    next(new BadRequestException(message, { cause: new UnreadableBody(message) }));
  }, next);
}

/** The JSON body parser of every route: body-parser with HTTP_BODY_LIMIT and strict UTF-8, then the shape checks. */
export function jsonBodyParser(limit: string): RequestHandler {
  const parse = json({ limit, verify: assertUtf8 });
  return (request, response, next) =>
    parse(request, response, (error?: unknown) =>
      error ? next(toHttpException(error as Error)) : checkShape(request, next),
    );
}
