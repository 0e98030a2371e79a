import { BadRequestException, HttpException, PayloadTooLargeException } from '@nestjs/common';
import { raw, Request, RequestHandler } from 'express';
import { isUtf8 } from 'node:buffer';
import { STATUS_CODES } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { assertUnreachable } from './assert-unreachable';
import { BODY_MAX_DEPTH } from './json-shape';
import { ScanProblem, ScanProblemCode, scanJson } from './json-scan';
import { Slots } from './slots';

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

const unreadable = (message: string) => Object.assign(new UnreadableBody(message), { status: 400 });

/** JSON's whitespace, then the first other character (body-parser's strict check). */
// eslint-disable-next-line no-control-regex -- JSON's whitespace is tab, line feed, carriage return and space
const FIRST_NON_WHITESPACE = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d]|$)/;

/**
 * The read (and inflated) bytes as JSON, as body-parser's strict json() takes them, checked first. Invalid UTF-8 is
 * refused: a decoder would silently turn it into U+FFFD, and a chunk's stored text, and so its content hash, would
 * not be what was sent. Then one scan (json-scan.ts) counts the values and finds duplicate keys, lone surrogates and
 * deep nesting, so that JSON.parse never builds a body that is refused, and nothing walks the parsed body value by
 * value. Every body is UTF-8 here: jsonBodyParser refuses any other charset before reading.
 */
function parseJsonBody(buffer: Buffer, maxJsonValues: number): unknown {
  // isUtf8 checks without decoding (simdutf): a few ms for 16 MB, where a fatal TextDecoder took 15 to 35.
  if (!isUtf8(buffer)) throw unreadable('the request body is not valid UTF-8');
  const problem = scanJson(buffer, { maxValues: maxJsonValues, maxDepth: BODY_MAX_DEPTH });
  if (problem) throw refusal(problem);
  // A leading byte order mark is dropped, as body-parser's decoder drops it; an empty body is {} there too.
  const text = buffer.toString('utf8').replace(/^\uFEFF/, '');
  if (text.length === 0) return {};
  const first = FIRST_NON_WHITESPACE.exec(text)?.[1];
  if (first !== '{' && first !== '[') {
    const found = first ? `, not start with '${first}'` : '';
    throw unreadable(`the request body must be a JSON object or array${found}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw Object.assign(error as SyntaxError, { status: 400 });
  }
}

/** Bodies of this size and more are parsed one per turn of the event loop (ParseTurns). */
const PARSE_IN_TURNS_FROM_BYTES = 256 * 1024;

/**
 * Large bodies, parsed one after another with a turn of the event loop before each. Bodies that finish arriving
 * together would otherwise all be decoded and parsed in the same turn, one after another (eight 16 MB bodies: about
 * 25 ms each on a 2-core machine, so /health/live and every other request waited some 200 ms); in turns, other
 * requests are served between them.
 */
export class ParseTurns {
  private readonly oneAtATime = new Slots(1);

  run<T>(parse: () => T): Promise<T> {
    return this.oneAtATime.run(async () => {
      await nextTurn();
      return parse();
    });
  }
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
 * The JSON body parser of every route: body-parser reads the bytes of an `application/json` body with
 * HTTP_BODY_LIMIT (inflated bytes included, counted as they come and cut at the limit), then parseJsonBody checks
 * and parses them, a large body in its own turn of the event loop.
 */
export function jsonBodyParser({ bodyLimit, maxJsonValues }: JsonBodyLimits): RequestHandler {
  const read = raw({ type: 'application/json', limit: bodyLimit });
  const turns = new ParseTurns();
  return (request, response, next) => {
    if (unread.has(request)) return next();
    const badCharset = normaliseCharset(request);
    if (badCharset) return next(badCharset);
    read(request, response, (error?: unknown) => {
      if (error) return next(toHttpException(error as Error));
      const bytes: unknown = request.body;
      // Not a JSON body: left unread, as body-parser's json() leaves it.
      if (!Buffer.isBuffer(bytes)) return next();
      const parse = () => (request.body = parseJsonBody(bytes, maxJsonValues));
      if (bytes.length < PARSE_IN_TURNS_FROM_BYTES) {
        try {
          parse();
        } catch (parseError) {
          return next(toHttpException(parseError as Error));
        }
        return next();
      }
      turns.run(parse).then(
        () => next(),
        (parseError: unknown) => next(toHttpException(parseError as Error)),
      );
    });
  };
}
