import { Logger as NestLogger } from '@nestjs/common';
import { Logger as TypeOrmLogger } from 'typeorm';
import { describeError } from '../logging/safe-error';
import { isStoppingEmbeddedServer } from './embedded-postgres';

const MAX_SQL = 500;

/**
 * TypeORM's log lines through Nest's logger (so pino's format), never with a query's parameters: they are chunk
 * texts and metadata. SQL text is logged (its values are placeholders); a failed query's error is described by
 * safe-error.ts, without PostgreSQL's detail and where. With DATABASE_LOGGING=false only TypeORM's warnings come out.
 */
export class SafeTypeOrmLogger implements TypeOrmLogger {
  private readonly logger = new NestLogger('Database');

  constructor(private readonly verbose: boolean) {}

  logQuery(query: string): void {
    if (this.verbose) this.logger.debug(`query: ${sql(query)}`);
  }

  logQueryError(error: string | Error, query: string): void {
    if (this.verbose) this.logger.warn(`query failed: ${describeError(error)}; query: ${sql(query)}`);
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn(`slow query (${time} ms): ${sql(query)}`);
  }

  logSchemaBuild(message: string): void {
    if (this.verbose) this.logger.debug(message);
  }

  logMigration(message: string): void {
    if (this.verbose) this.logger.log(describeError(message));
    else this.logger.debug(describeError(message));
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn' && isOwnShutdown(message)) return this.logger.debug(describeError(message));
    if (level === 'warn') this.logger.warn(describeError(message));
    else if (this.verbose) this.logger.debug(describeError(message));
  }
}

/** The pool's idle connections cut by the embedded server this process is stopping (see isStoppingEmbeddedServer). */
const isOwnShutdown = (message: unknown) =>
  isStoppingEmbeddedServer() && /pool raised an error.*administrator command/is.test(String(message));

const sql = (query: string) => (query.length > MAX_SQL ? `${query.slice(0, MAX_SQL)}…` : query).replace(/\s+/g, ' ');
