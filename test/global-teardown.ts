import { rm } from 'node:fs/promises';
import { adminQuery } from './database';

export default async function globalTeardown(): Promise<void> {
  const embedded = globalThis.__embeddedPostgres;
  if (embedded) {
    await embedded.server.stop();
    await rm(embedded.dir, { recursive: true, force: true });
    return;
  }
  await adminQuery(`DROP DATABASE IF EXISTS "${process.env.TEST_TEMPLATE_DB}"`, process.env.TEST_SERVER_URL);
}
