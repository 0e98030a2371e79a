/**
 * One-line descriptions of errors for log lines that never carry chunk text, metadata or secrets.
 *
 * A failed query's error holds its parameters (TypeORM's QueryFailedError), PostgreSQL's `detail` ("Key (…)=(…)",
 * "Failing row contains (…)") and `where` (the JSON text that did not parse) hold values, and many messages quote
 * the value they refused (`invalid input syntax for type bigint: "…"`, Node's JSON.parse). So a description keeps
 * the error's kind, its codes and the names PostgreSQL gives (constraint, table, column), and masks every quoted part
 * of the message except names PostgreSQL itself quotes after "constraint", "relation", "column" or "table".
 */

import { types } from 'node:util';

/** An Error from any realm (Jest's test environments run in their own, Node's errors come from the main one). */
const isError = (value: unknown): value is Error => value instanceof Error || types.isNativeError(value);

interface PgFields {
  code?: unknown;
  severity?: unknown;
  constraint?: unknown;
  table?: unknown;
  column?: unknown;
}

const MAX_MESSAGE = 300;
const MAX_FRAMES = 12;

/** Quoted strings (double or typographic quotes), and a quote left open at the end (a message cut inside a value). */
const QUOTED = /"[^"]*"|“[^”]*”|["“][^"”]*$/g;
/** PostgreSQL quotes the names of what it talks about after these words: they are schema, not values. */
const NAMED = /\b(?:constraint|relation|column|table|index|schema|database|role|function|type) $/;

/** Masks quoted values, keeping the names PostgreSQL quotes after "constraint", "relation" and the like. */
export function maskQuoted(message: string): string {
  return message.replace(QUOTED, (quoted, offset: number) => {
    const named = NAMED.test(message.slice(Math.max(0, offset - 12), offset)) && /["”]$/.test(quoted);
    return named ? quoted : '"…"';
  });
}

/** The error's kind, codes and masked message: safe for any log line. */
export function describeError(error: unknown): string {
  if (!isError(error)) return typeof error === 'string' ? cut(maskQuoted(error)) : `non-error thrown (${typeof error})`;
  const parts = [`${error.name}: ${cut(maskQuoted(error.message))}`];
  const pg = pgFieldsOf(error);
  if (pg) parts.push(pgSummary(pg));
  const code = (error as { code?: unknown }).code;
  if (!pg && typeof code === 'string') parts.push(`(${code})`);
  return parts.filter(Boolean).join(' ');
}

/** The stack's frames without its first line (the message, which may hold values). */
export function stackFramesOf(error: unknown): string | undefined {
  if (!isError(error) || !error.stack) return undefined;
  const frames = error.stack.split('\n').filter((line) => /^\s+at /.test(line));
  return frames.slice(0, MAX_FRAMES).join('\n') || undefined;
}

/** The description and, for errors nobody expected, where they came from. */
export function describeWithStack(error: unknown): string {
  const frames = stackFramesOf(error);
  return frames ? `${describeError(error)}\n${frames}` : describeError(error);
}

/** pino's `err` serializer: what pino-stdlib would print, minus parameters, query values, detail, where and bodies. */
export function serializeError(given: unknown): Record<string, unknown> {
  // pino-http hands its err serializer pino-std-serializers' copy, which keeps the original error as `raw`.
  const raw = (given as { raw?: unknown } | null)?.raw;
  const error = isError(raw) ? raw : given;
  if (!isError(error)) return { message: describeError(error) };
  const pg = pgFieldsOf(error);
  return {
    type: error.name,
    message: describeError(error),
    ...(pg ? { code: pg.code, constraint: pg.constraint, table: pg.table, column: pg.column } : {}),
    stack: stackFramesOf(error),
  };
}

/** PostgreSQL's fields, on the error itself (pg's DatabaseError) or on its driverError (TypeORM's). */
function pgFieldsOf(error: Error): PgFields | undefined {
  for (const candidate of [error, (error as { driverError?: unknown }).driverError]) {
    const fields = candidate as PgFields | undefined;
    if (fields && typeof fields.code === 'string' && /^[0-9A-Z]{5}$/.test(fields.code) && fields.severity)
      return fields;
  }
  return undefined;
}

function pgSummary({ code, constraint, table, column }: PgFields): string {
  const names = Object.entries({ constraint, table, column })
    .filter(([, value]) => typeof value === 'string' && value.length > 0)
    .map(([key, value]) => `${key} ${value as string}`);
  return `(sqlstate ${String(code)}${names.length ? `, ${names.join(', ')}` : ''})`;
}

const cut = (text: string) => (text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text);

/**
 * "receiver answered 500: <body>" without the body, which a receiver or a remote may fill with what it was sent
 * (another instance of this service echoes chunk texts in its errors); other messages are described as errors are.
 */
export function withoutBody(message: string): string {
  const answered = /^(.*?\banswered \d{3})\b/s.exec(message);
  return answered ? maskQuoted(answered[1]) : describeError(message);
}
