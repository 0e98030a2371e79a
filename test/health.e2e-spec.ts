import { randomBytes } from 'node:crypto';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/config/config.loader';
import { startTestApp } from './app';
import { adminQuery, serverUrl, withDatabase } from './database';
import request from 'supertest';

describe('Health (e2e)', () => {
  it('is live and ready on a migrated database', async () => {
    const t = await startTestApp();
    await t.http().get('/health/live').expect(200, { status: 'ok', info: {}, error: {}, details: {} });
    const ready = await t.http().get('/health/ready').expect(200);
    expect(ready.body.details.database).toMatchObject({ status: 'up', migrations: 'applied' });
    await t.close();
  });

  it('is not ready (503, naming the check) while migrations are pending', async () => {
    const name = `et_empty_${randomBytes(4).toString('hex')}`;
    await adminQuery(`CREATE DATABASE "${name}"`);
    const app = await createApp(
      loadConfig({ LOG_LEVEL: 'error', DATABASE_URL: withDatabase(serverUrl(), name), DATABASE_MIGRATIONS_RUN: 'false' }),
    );
    const res = await request(app.getHttpServer()).get('/health/ready').expect(503);
    expect(res.body.error.database).toMatchObject({ status: 'down' });
    expect(res.body.error.database.message).toMatch(/pending migrations: InitialSchema1764028800000/);
    await request(app.getHttpServer()).get('/health/live').expect(200);
    await app.close();
    await adminQuery(`DROP DATABASE "${name}" WITH (FORCE)`);
  });

  it('runs migrations at start-up by default, so a new database becomes ready', async () => {
    const name = `et_fresh_${randomBytes(4).toString('hex')}`;
    await adminQuery(`CREATE DATABASE "${name}"`);
    const app = await createApp(loadConfig({ LOG_LEVEL: 'error', DATABASE_URL: withDatabase(serverUrl(), name) }));
    await request(app.getHttpServer()).get('/health/ready').expect(200);
    await app.close();
    await adminQuery(`DROP DATABASE "${name}" WITH (FORCE)`);
  });

  it('is not ready (503) when the database goes away, and stays live', async () => {
    const t = await startTestApp();
    await t.db.drop();
    const res = await t.http().get('/health/ready').expect(503);
    expect(res.body.error.database.status).toBe('down');
    await t.http().get('/health/live').expect(200);
    await t.app.close();
  });
});
