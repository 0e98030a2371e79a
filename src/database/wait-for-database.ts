import { Client } from 'pg';
import { retrying } from '../common/retry';
import { describeError } from '../logging/safe-error';
import { isDatabaseUnavailable } from './database-unavailable';

/** Start-up gave up on the database: the message names it by host and port, never by its URL (the password). */
export class DatabaseUnreachableError extends Error {
  name = 'DatabaseUnreachableError';
}

export interface WaitForDatabaseOptions {
  waitMs: number;
  /** Told of every failed attempt as it happens (main.ts logs before the app's logger exists, unbuffered). */
  warn: (line: string) => void;
  /** Told when the database answers after failed attempts. */
  log: (line: string) => void;
  retryMs?: number;
}

/**
 * Connects until the database answers or `waitMs` has passed, so a service started beside its database (compose,
 * a rollout after an outage) waits for it, saying so on every attempt, and otherwise exits with one clear line.
 * An error that waiting will not cure (a wrong password, a missing database) ends the wait at once.
 */
export async function waitForDatabase(
  url: string,
  { waitMs, warn, log, retryMs = 1000 }: WaitForDatabaseOptions,
): Promise<void> {
  const target = hostAndPort(url);
  const deadline = Date.now() + waitMs;
  const connect = async (attempt: number) => {
    await tryConnect(url, Math.max(1000, Math.min(5000, deadline - Date.now())));
    if (attempt > 1) log(`Database at ${target} is reachable (attempt ${attempt})`);
  };
  await retrying(connect, (error, attempt) => {
    const reason = describeError(error);
    if (!isDatabaseUnavailable(error)) {
      throw new DatabaseUnreachableError(`Database at ${target} refused the connection: ${reason}`);
    }
    const left = deadline - Date.now();
    if (left < retryMs) {
      throw new DatabaseUnreachableError(
        `Database at ${target} unreachable for ${Math.round(waitMs / 1000)} s (DATABASE_STARTUP_WAIT_MS), giving up: ${reason}`,
      );
    }
    warn(
      `Database at ${target} not reachable (attempt ${attempt}: ${reason}); trying again for ${Math.ceil(left / 1000)} s more`,
    );
    return retryMs;
  });
}

async function tryConnect(url: string, timeoutMs: number): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined); // a connection that drops after the check is the pool's business
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** host:port of a postgres URL (a `host` query parameter, as libpq reads it, wins over the authority). */
export function hostAndPort(url: string): string {
  // Not WHATWG's URL: libpq's URLs may leave the host out (`postgres://u@/db?host=/socket`), which it refuses.
  const authority = /^[a-z]+:\/\/(?:[^@/?]*@)?([^/?]*)/i.exec(url)?.[1] ?? '';
  const [, hostPart = '', port = ''] = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(authority) ?? [];
  const query = new URLSearchParams(url.split('?')[1] ?? '');
  const host = query.get('host') ?? (decodeURIComponent(hostPart) || 'localhost');
  return `${host}:${query.get('port') ?? (port || '5432')}`;
}
