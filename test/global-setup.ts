import { mkdtemp, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../src/database/data-source.options';
import { EmbeddedPostgresServer } from '../src/database/embedded-postgres';
import { adminQuery, withDatabase } from './database';
import { freePort } from './ports';

declare global {
  var __embeddedPostgres: { server: EmbeddedPostgresServer; dir: string } | undefined;
}

/**
 * One PostgreSQL for the whole run: TEST_DATABASE_URL's server when set, else an embedded one in a temporary
 * folder. Migrations run once into a template database that every test file clones.
 */
export default async function globalSetup(): Promise<void> {
  const serverUrl = process.env.TEST_DATABASE_URL ?? (await startEmbedded());
  const template = `et_template_${process.pid}_${Date.now()}`;
  await adminQuery(`CREATE DATABASE "${template}"`, serverUrl);
  const dataSource = new DataSource(dataSourceOptions({ url: withDatabase(serverUrl, template) }));
  await dataSource.initialize();
  await dataSource.runMigrations();
  await dataSource.destroy();
  process.env.TEST_SERVER_URL = serverUrl;
  process.env.TEST_TEMPLATE_DB = template;
}

async function startEmbedded(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'embedding-tasks-test-'));
  // Under root the server runs as the postgres user, which must reach the data folder inside.
  await chmod(dir, 0o755);
  const server = new EmbeddedPostgresServer({ dataDir: join(dir, 'pg'), port: await freePort() });
  globalThis.__embeddedPostgres = { server, dir };
  return server.start();
}
