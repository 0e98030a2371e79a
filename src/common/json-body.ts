import { BadRequestException, HttpException, PayloadTooLargeException } from '@nestjs/common';
import { json, Request, RequestHandler, Response } from 'express';
import { isUtf8 } from 'node:buffer';
import { STATUS_CODES } from 'node:http';
import { assertUnreachable } from './assert-unreachable';
import { BODY_MAX_DEPTH } from './json-shape';
import { ScanProblem, ScanProblemCode, scanJson } from './json-scan';

/**
 * A body that cannot be taken as sent. A SyntaxError, like body-parser's own for a body that is not JSON, so that
 * the TEI routes answer it as axum answers a body serde cannot read (400, not the 422 of a body of the wrong shape).
 */
class UnreadableBody extends SyntaxError {}

export interface JsonBodyLimits {
  /** HTTP_BODY_LIMIT: bytes read, after any gzip or deflate inflation (body-parser counts inflated bytes). */
  bodyLimit: string;
  /** HTTP_MAX_JSON_VALUES: values one body may hold, refused before JSON.parse builds them. */
  maxJsonValues: number;
}

/** The status of a problem found in a body's bytes: too many values is a size (413), the rest are malformed (400). */
function statusOf(code: ScanProblemCode): number {
  switch (code) {
    case ScanProblemCode.TooManyValues:
      return 413;
    case ScanProblemCode.TooDeep:
    case ScanProblemCode.DuplicateKey:
    case ScanProblemCode.LoneSurrogate:
      return 400;
    default:
      return assertUnreachable(code);
  }
}

/** A malformed body is a SyntaxError (see UnreadableBody); one too large is not, so dialects answer it as a 413. */
function refusal({ code, message }: ScanProblem): Error {
  const status = statusOf(code);
  return Object.assign(status === 413 ? new Error(message) : new UnreadableBody(message), { status });
}

/**
 * Runs on the read (and inflated) bytes before JSON.parse. Invalid UTF-8 is refused first: body-parser would
 * silently decode it to U+FFFD, and a chunk's stored text, and so its content hash, would not be what was sent.
 * Then one scan (json-scan.ts) counts the values and finds duplicate keys, lone surrogates and deep nesting, so
 * that JSON.parse never builds a body that is refused, and nothing walks the parsed body value by value.
 */
function verifier(maxJsonValues: number) {
  // Every body is UTF-8 by then: jsonBodyParser refuses any other charset before reading.
  return (_request: Request, _response: Response, buffer: Buffer): void => {
    // isUtf8 checks without decoding (simdutf): a few ms for 16 MB, where a fatal TextDecoder took 15 to 35.
    if (!isUtf8(buffer))
      throw Object.assign(new UnreadableBody('the request body is not valid UTF-8'), { status: 400 });
    const problem = scanJson(buffer, { maxValues: maxJsonValues, maxDepth: BODY_MAX_DEPTH });
    if (problem) throw refusal(problem);
  };
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

/** Requests whose body is never read: marked by the API key check (src/auth) when the key is missing or wrong. */
const unread = new WeakSet<Request>();

/** Leaves this request's body unread: nothing of it is buffered, inflated or parsed. */
export function leaveBodyUnread(request: Request): void {
  unread.add(request);
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/**
 * JSON is UTF-8 (RFC 8259). `charset=utf8` (and `UTF8`) names it too, as WHATWG's encoding labels have it, where
 * body-parser only knows `utf-8`; any other charset is a 415 before the body is read (body-parser would decode
 * UTF-16 and the UTF-8 and scan checks would not apply). The error for a bad charset, or undefined.
 */
function normaliseCharset(request: Request): Error | undefined {
  const type = request.headers['content-type'];
  // Only for the bodies body-parser reads as JSON; other types are not read at all.
  if (!type || !/^\s*application\/json\s*(;|$)/i.test(type)) return undefined;
  const charset = CHARSET.exec(type)?.[1];
  if (!charset || /^utf-8$/i.test(charset)) return undefined;
  if (/^utf8$/i.test(charset)) return void (request.headers['content-type'] = type.replace(CHARSET, '; charset=utf-8'));
  const message = `unsupported charset "${charset.toUpperCase()}"`;
  return new HttpException({ statusCode: 415, message, error: STATUS_CODES[415] }, 415);
}

/**
 * The JSON body parser of every route: body-parser with HTTP_BODY_LIMIT (inflated bytes included, counted as they
 * come and cut at the limit) and strict UTF-8, then the scan before JSON.parse.
 */
export function jsonBodyParser({ bodyLimit, maxJsonValues }: JsonBodyLimits): RequestHandler {
  const parse = json({ limit: bodyLimit, verify: verifier(maxJsonValues) });
  return (request, response, next) => {
    if (unread.has(request)) return next();
    const badCharset = normaliseCharset(request);
    if (badCharset) return next(badCharset);
    parse(request, response, (error?: unknown) => next(error ? toHttpException(error as Error) : undefined));
  };
}
