import { Module } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { Options } from 'pino-http';
import { AppConfig } from '../config/app-config';
import { LogLevel } from '../config/env.dto';

const PINO_LEVELS: Record<LogLevel, string> = { error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' };

/** Secrets never reach a log line; request bodies (chunk texts) are never logged at all. */
const REDACTED = ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie', 'res.headers["set-cookie"]'];

/** A caller's x-request-id is kept (and echoed), else one is made, so a request can be followed across services. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}

/** Probes would drown the access log; their failures still show in the readiness answer. */
const quietPaths = (req: IncomingMessage) => /^\/(health\/|metrics)/.test(req.url ?? '');

export function pinoOptions({ logLevel, logFormat }: AppConfig): Options {
  return {
    level: PINO_LEVELS[logLevel],
    genReqId: requestId,
    redact: { paths: REDACTED, censor: '[redacted]' },
    autoLogging: { ignore: quietPaths },
    transport: logFormat === 'pretty' ? { target: 'pino-pretty', options: { singleLine: true } } : undefined,
  };
}

/** JSON logs through pino (nestjs-pino): every Nest Logger call, and one access line per request with its id. */
@Module({
  imports: [LoggerModule.forRootAsync({ inject: [AppConfig], useFactory: (config: AppConfig) => ({ pinoHttp: pinoOptions(config) }) })],
})
export class LoggingModule {}
