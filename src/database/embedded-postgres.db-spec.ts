import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../test/ports';
import { EmbeddedPostgresServer } from './embedded-postgres';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const exitHook: { hookedEvents(): string[] } = require('async-exit-hook');

describe(EmbeddedPostgresServer.name, () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'embedded-pg-spec-'));
    // Under root the server runs as the postgres user, which must reach the data folder inside.
    await chmod(dir, 0o755);
  });

  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('serves a database, and leaves no exit hook of its own behind (main.ts stops it after the app)', async () => {
    const server = new EmbeddedPostgresServer({ dataDir: join(dir, 'pg'), port: await freePort(), database: 'spec' });
    const url = await server.start();
    try {
      expect(exitHook.hookedEvents()).toEqual([]);
      const client = new Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query('SELECT current_database() AS name');
      await client.end();
      expect(rows).toEqual([{ name: 'spec' }]);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
