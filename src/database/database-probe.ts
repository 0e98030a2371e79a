import { Client } from 'pg';

/** What the probe reads of node-postgres' pool (TypeORM's `driver.master`). */
export interface ProbedPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options: { max: number };
  query(sql: string): Promise<{ rows: unknown[] }>;
}

/**
 * Readiness' way to the database. A pool busy to its last connection is not a database that is down, and a probe
 * that waited its turn in such a pool would say it is: so the probe asks through the pool only when the pool has a
 * connection free (idle, or room for a new one, and nobody waiting), and otherwise on a connection of its own, opened
 * for that one check and closed after it. No connection is held for readiness between checks.
 */
export class DatabaseProbe {
  constructor(
    private readonly pool: () => ProbedPool | undefined,
    private readonly url: string,
    private readonly connectTimeoutMs: number,
  ) {}

  async query<T>(sql: string): Promise<T[]> {
    const pool = this.pool();
    if (pool && hasRoom(pool)) return (await pool.query(sql)).rows as T[];
    return this.onOwnConnection<T>(sql);
  }

  private async onOwnConnection<T>(sql: string): Promise<T[]> {
    const client = new Client({
      connectionString: this.url,
      application_name: 'embedding-tasks-health',
      connectionTimeoutMillis: this.connectTimeoutMs,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

function hasRoom(pool: ProbedPool): boolean {
  return pool.waitingCount === 0 && (pool.idleCount > 0 || pool.totalCount < pool.options.max);
}
