import { Logger } from '@nestjs/common';
import { Logger as TypeOrmLogger, QueryFailedError } from 'typeorm';
import { SafeTypeOrmLogger } from './safe-typeorm-logger';

const MARKER = 'chunk-text-7a1c';

describe('SafeTypeOrmLogger', () => {
  afterEach(() => jest.restoreAllMocks());

  function captured(): string[] {
    const lines: string[] = [];
    for (const level of ['log', 'warn', 'debug'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => void lines.push(String(args[0])));
    }
    return lines;
  }

  it('logs the SQL of queries and failures with DATABASE_LOGGING, never their parameters or detail', () => {
    const lines = captured();
    const logger: TypeOrmLogger = new SafeTypeOrmLogger(true);
    logger.logQuery('INSERT INTO mgmt.embed_chunk (text) VALUES ($1)', [MARKER]);
    const driverError = Object.assign(new Error('duplicate key value violates unique constraint "pk"'), {
      severity: 'ERROR',
      code: '23505',
      detail: `Key (text)=(${MARKER}) already exists.`,
    });
    logger.logQueryError(new QueryFailedError('INSERT …', [MARKER], driverError), 'INSERT …', [MARKER]);
    logger.logQuerySlow(2500, 'SELECT $1', [MARKER]);
    expect(lines).toEqual([
      'query: INSERT INTO mgmt.embed_chunk (text) VALUES ($1)',
      'query failed: QueryFailedError: duplicate key value violates unique constraint "pk" (sqlstate 23505); query: INSERT …',
      'slow query (2500 ms): SELECT $1',
    ]);
  });

  it('without DATABASE_LOGGING, logs neither queries nor failed queries', () => {
    const lines = captured();
    const logger = new SafeTypeOrmLogger(false);
    logger.logQuery('SELECT 1');
    logger.logQueryError(new Error('boom'), 'SELECT 1');
    expect(lines).toEqual([]);
  });
});
