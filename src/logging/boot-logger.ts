import { ConsoleLogger, LoggerService } from '@nestjs/common';
import pino, { Logger as Pino } from 'pino';
import { LOG_LEVELS, LogFormat, LogLevel } from '../config/env.dto';
import { describeError, serializeError } from './safe-error';

export const PINO_LEVELS: Record<LogLevel, string> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/**
 * The logger of the time before the app exists (configuration, the embedded database, start-up failures): with
 * LOG_FORMAT=json every line is already one JSON object, in the shape nestjs-pino writes later ({level, time, pid,
 * hostname, context, msg}), so a log collector never meets a line it cannot parse. Pretty keeps Nest's console.
 */
export function bootLogger(
  format: LogFormat,
  level: LogLevel,
  // Synchronous writes by default: a start-up failure exits at once, and its line must be out by then.
  destination: pino.DestinationStream = pino.destination({ sync: true }),
): LoggerService {
  const levels = ['fatal' as const, ...LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1)];
  if (format === 'pretty') return new ConsoleLogger({ logLevels: levels });
  return new PinoBootLogger(pino({ level: PINO_LEVELS[level], serializers: { err: serializeError } }, destination));
}

/** Nest's LoggerService over pino: the last string parameter is the context, as Nest's Logger passes it. */
class PinoBootLogger implements LoggerService {
  constructor(private readonly pino: Pino) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, params: unknown[]) {
    const last = params[params.length - 1];
    const context = typeof last === 'string' ? last : undefined;
    if (message !== null && typeof message === 'object' && !(message instanceof Error)) {
      const { msg, ...fields } = message as { msg?: unknown };
      return this.pino[level]({ context, ...fields }, typeof msg === 'string' ? msg : '');
    }
    // An error is described safely (no query parameters or quoted values), as pino's err serializer does later.
    const text = message instanceof Error ? describeError(message) : String(message);
    this.pino[level]({ context }, text);
  }
}
