import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/ports';

export interface BenchApp {
  baseUrl: string;
  /** Where the database came from, for the report. */
  database: string;
  /** The app's PostgreSQL, for parts that feed work with plain SQL. */
  databaseUrl: string;
  close(): Promise<void>;
}

export interface BenchAppOptions {
  /** Environment variables over config/defaults.env (nothing is read from this process's environment). */
  env: Record<string, string>;
  /** An existing PostgreSQL; unset: a throwaway embedded server in a temporary folder. */
  databaseUrl?: string;
  log: (line: string) => void;
}

/**
 * The real service, built by createApp like main.ts does, listening on a free loopback port. The app is loaded
 * lazily so a part that never needs it does not pay for Nest, and a broken app is an error the caller can report.
 */
export async function startBenchApp({ env, databaseUrl, log }: BenchAppOptions): Promise<BenchApp> {
  const database = databaseUrl ? { url: databaseUrl, stop: async () => undefined } : await startThrowawayPostgres(log);
  try {
    const { createApp } = await import('../../src/app.factory');
    const { loadConfig } = await import('../../src/config/config.loader');
    const app = await createApp(loadConfig({ LOG_LEVEL: 'warn', ...env, DATABASE_URL: database.url }));
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    return {
      baseUrl: `http://127.0.0.1:${port}`,
      database: databaseUrl ? 'BENCH_DATABASE_URL' : 'embedded PostgreSQL (temporary)',
      databaseUrl: database.url,
      close: async () => {
        await app.close();
        await database.stop();
      },
    };
  } catch (error) {
    await database.stop();
    throw error;
  }
}

export async function startThrowawayPostgres(
  log: (line: string) => void,
): Promise<{ url: string; stop(): Promise<void> }> {
  const { EmbeddedPostgresServer } = await import('../../src/database/embedded-postgres');
  const dir = await mkdtemp(join(tmpdir(), 'bench-pg-'));
  // mkdtemp makes it 0700; run as root, PostgreSQL runs as the postgres user, which must reach the data folder.
  await chmod(dir, 0o755);
  const server = new EmbeddedPostgresServer({ dataDir: join(dir, 'data'), port: await freePort() });
  const stop = async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    log(`  starting a throwaway embedded PostgreSQL in ${dir}`);
    return { url: await server.start(), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
