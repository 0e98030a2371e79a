import { BadRequestException } from '@nestjs/common';
import { json, NextFunction, Request, RequestHandler, Response } from 'express';
import { BODY_MAX_DEPTH, findShapeProblemYielding } from './json-shape';

/**
 * A body-parser error that Nest's Express adapter maps to an HttpException of its status with this message
 * (it maps http-errors with a status below 500; see ExpressAdapter.mapException), like body-parser's own 400 and 413.
 */
class BodyError extends Error {
  readonly status = 400;
  readonly statusCode = 400;
  readonly expose = true;
}

/** One decoder for every request: `fatal` makes invalid UTF-8 an error instead of U+FFFD. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Invalid UTF-8 is refused before body-parser decodes the body, which would silently turn it into U+FFFD: a chunk's
 * stored text, and so its content hash, would then not be what the client sent.
 */
function assertUtf8(_request: Request, _response: Response, buffer: Buffer, encoding: string): void {
  if (!/^utf-?8$/i.test(encoding)) return;
  try {
    strictUtf8.decode(buffer);
  } catch {
    throw new BodyError('the request body is not valid UTF-8');
  }
}

/**
 * After parsing: no lone surrogate in any string or key (a `\ud800` escape parses to one; PostgreSQL and UTF-8
 * cannot hold it) and no nesting deeper than BODY_MAX_DEPTH, which would overflow class-transformer's recursion.
 * Walked iteratively, yielding now and then, so a big body neither overflows the stack nor holds the event loop.
 */
function checkShape(request: Request, _response: Response, next: NextFunction): void {
  if (request.body === undefined || request.body === null || typeof request.body !== 'object') return next();
  findShapeProblemYielding(request.body, { maxDepth: BODY_MAX_DEPTH, refuseNul: false }).then(
    (problem) => next(problem ? new BadRequestException(`${problem.path || 'body'} ${problem.message}`) : undefined),
    next,
  );
}

/** The JSON body parser of every route: body-parser with HTTP_BODY_LIMIT, strict UTF-8 and the shape checks. */
export function jsonBodyParser(limit: string): RequestHandler[] {
  return [json({ limit, verify: assertUtf8 }), checkShape];
}
