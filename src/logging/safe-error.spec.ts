import { QueryFailedError } from 'typeorm';
import { describeError, describeWithStack, maskQuoted, serializeError, withoutBody } from './safe-error';

const MARKER = 'marker-5f1e';

/** A pg DatabaseError as the driver builds it for a failed insert. */
function pgError(message: string, fields: Record<string, string>): Error {
  return Object.assign(new Error(message), { severity: 'ERROR', ...fields });
}

describe('safe error descriptions', () => {
  it('keep the sqlstate and names of a failed query but none of its parameters, detail or where', () => {
    const driverError = pgError('new row for relation "embed_chunk" violates check constraint "no_marker"', {
      code: '23514',
      constraint: 'no_marker',
      table: 'embed_chunk',
      detail: `Failing row contains (7, ${MARKER}).`,
      where: `JSON data, line 1: {"x": "${MARKER}`,
    });
    const error = new QueryFailedError('INSERT INTO x VALUES ($1)', [MARKER, { note: MARKER }], driverError);
    const described = describeError(error);
    expect(described).toContain('violates check constraint "no_marker"');
    expect(described).toContain('sqlstate 23514');
    expect(described).toContain('constraint no_marker');
    expect(JSON.stringify(serializeError(error))).not.toContain(MARKER);
    expect(describeWithStack(error)).not.toContain(MARKER);
  });

  it('mask quoted values in messages, also a quote the cut left open', () => {
    expect(maskQuoted(`invalid input syntax for type bigint: "${MARKER}"`)).toBe(
      'invalid input syntax for type bigint: "…"',
    );
    expect(maskQuoted(`Unexpected token 'x', "${MARKER}`)).not.toContain(MARKER);
    expect(
      describeError(new SyntaxError(`Unexpected token, "${'a'.repeat(400)}${MARKER}" is not valid JSON`)),
    ).not.toContain(MARKER);
  });

  it('keep a connection error’s code', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(describeError(refused)).toBe('Error: connect ECONNREFUSED 127.0.0.1:5432 (ECONNREFUSED)');
  });
});

describe('the pino err serializer', () => {
  it('describes the original error when pino-http hands it pino-std-serializers’ copy', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const std = require('pino-std-serializers') as { err: (error: Error) => unknown };
    const error = new QueryFailedError(
      'INSERT …',
      [MARKER],
      Object.assign(new Error('boom'), { severity: 'ERROR', code: '22P02' }),
    );
    const serialized = serializeError(std.err(error));
    expect(serialized).toMatchObject({ type: 'QueryFailedError', code: '22P02' });
    expect(JSON.stringify(serialized)).not.toContain(MARKER);
  });
});

describe('withoutBody', () => {
  it('keeps the status of an answer and drops its body', () => {
    expect(withoutBody(`receiver answered 500: {"echo":"${MARKER}"}`)).toBe('receiver answered 500');
    expect(withoutBody(`remote http://x answered 503 with an unreadable body: ${MARKER}`)).toBe(
      'remote http://x answered 503',
    );
  });
});
