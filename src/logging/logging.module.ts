import { Module } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { Options } from 'pino-http';
import { AppConfig } from '../config/app-config';
import { PINO_LEVELS } from './boot-logger';
import { describeError, serializeError } from './safe-error';
import { isProbe, serializeRequest, serializeResponse } from './access-log';


/**
 * Access lines name their headers by an allow-list (access-log.ts); this masks these secrets too should any other
 * line carry a request's headers. Request bodies (chunk texts) are never logged at all.
 */
const REDACTED = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/** A caller's x-request-id is kept (and echoed), else one is made, so a request can be followed across services. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}

/**
 * pino takes an error's raw message for the line's `msg` when none is given (Nest's exception handlers log so):
 * give it the safe description instead, as the `err` serializer does for the error itself.
 */
function logMethod(this: unknown, args: unknown[], method: (...args: unknown[]) => void): void {
  const [first, ...rest] = args;
  const bare = rest.length === 0 || typeof rest[0] !== 'string';
  if (first instanceof Error && bare) return method.apply(this, [{ err: first }, describeError(first), ...rest]);
  const err = (first as { err?: unknown } | null)?.err;
  if (typeof first === 'object' && err instanceof Error && bare)
    return method.apply(this, [first, describeError(err), ...rest]);
  return method.apply(this, args);
}

export function pinoOptions({ logLevel, logFormat }: AppConfig): Options {
  return {
    level: PINO_LEVELS[logLevel],
    genReqId: requestId,
    redact: { paths: REDACTED, censor: '[redacted]' },
    // Errors lose parameters, detail, where and quoted values (see safe-error.ts); request bodies are never read here.
    serializers: { err: serializeError, req: serializeRequest, res: serializeResponse },
    hooks: { logMethod },
    autoLogging: { ignore: isProbe },
    transport: logFormat === 'pretty' ? { target: 'pino-pretty', options: { singleLine: true } } : undefined,
  };
}

/** JSON logs through pino (nestjs-pino): every Nest Logger call, and one access line per request with its id. */
@Module({
  imports: [LoggerModule.forRootAsync({ inject: [AppConfig], useFactory: (config: AppConfig) => ({ pinoHttp: pinoOptions(config) }) })],
})
export class LoggingModule {}
