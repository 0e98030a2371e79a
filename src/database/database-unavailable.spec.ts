import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from './database-unavailable';

const withCode = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset connection', withCode('read ECONNRESET', 'ECONNRESET')],
    ['admin_shutdown', withCode('terminating connection due to administrator command', '57P01')],
    ['cannot_connect_now', withCode('the database system is starting up', '57P03')],
    ['a connection exception (class 08)', withCode('connection failure', '08006')],
    ['a pool timeout', new Error('timeout exceeded when trying to connect')],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
    ['every address refused', new AggregateError([withCode('x', 'ECONNREFUSED'), withCode('y', 'ECONNREFUSED')])],
    ['a query cut by a shutdown', new QueryFailedError('SELECT 1', [], withCode('terminating connection', '57P01'))],
  ])('is true for %s', (_name, error) => expect(isDatabaseUnavailable(error)).toBe(true));

  it.each([
    ['a constraint violation', new QueryFailedError('INSERT', [], withCode('violates check constraint', '23514'))],
    ['a syntax error', withCode('syntax error at or near', '42601')],
    ['a plain error', new Error('something else')],
    ['a non-error', 'ECONNREFUSED'],
  ])('is false for %s', (_name, error) => expect(isDatabaseUnavailable(error)).toBe(false));
});
