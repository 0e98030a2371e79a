import { Client } from 'pg';

/**
 * One connection of its own, outside the pool, for readiness: a pool busy with long work (every connection taken)
 * is not a database that is down, and a probe that waited its turn in the pool would say it is. Connected on first
 * use and kept; a connection that fails is dropped and the next check opens a new one. The checks of one process
 * queue on it, so it never takes more than the one connection.
 */
export class DatabaseProbe {
  private client?: Promise<Client>;

  constructor(
    private readonly url: string,
    private readonly connectTimeoutMs: number,
  ) {}

  async query<T>(sql: string): Promise<T[]> {
    this.client ??= this.connect();
    const client = this.client;
    try {
      return (await (await client).query(sql)).rows as T[];
    } catch (error) {
      if (this.client === client) this.client = undefined;
      await client.then((c) => c.end()).catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.then((c) => c.end()).catch(() => undefined);
  }

  private async connect(): Promise<Client> {
    const client = new Client({
      connectionString: this.url,
      application_name: 'embedding-tasks-health',
      connectionTimeoutMillis: this.connectTimeoutMs,
    });
    // A connection that dies between checks is found by the next query; until then, no unhandled 'error' event.
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }
}
