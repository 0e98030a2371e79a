import { randomBytes } from 'node:crypto';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/config/config.loader';
import { startTestApp } from './app';
import { adminQuery, serverUrl, withDatabase } from './database';
import request from 'supertest';
import { createServer } from 'node:http';
import { EmbeddingService } from '../src/embedding/embedding.service';
import { ensureModel } from './fixtures/model/make-model';
import { freePort } from './ports';

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
      loadConfig({
        LOG_LEVEL: 'error',
        DATABASE_URL: withDatabase(serverUrl(), name),
        DATABASE_MIGRATIONS_RUN: 'false',
      }),
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

describe('Readiness of the embedding model and the receiver (e2e)', () => {
  it('reports the model loaded and warmed up', async () => {
    const model = await ensureModel('tiny');
    const t = await startTestApp({ EMBEDDING_MODELS: `tiny=${model}`, SENDER_ENABLED: 'false' });
    const ready = await t.http().get('/health/ready').expect(200);
    expect(ready.body.details.embedding).toMatchObject({
      status: 'up',
      models: [{ id: 'tiny', loaded: true, warmedUp: true }],
    });
    expect(ready.body.details.receiver).toMatchObject({ status: 'up', target: 'in-process' });
    await t.close();
  });

  it('is not ready while a configured model has not finished loading', async () => {
    const model = await ensureModel('tiny');
    const t = await startTestApp({ EMBEDDING_MODELS: `tiny=${model}`, SENDER_ENABLED: 'false' });
    // Closing the provider puts the model back to "not loaded", as it is before start-up finishes loading it.
    await t.app.get(EmbeddingService).close();
    const res = await t.http().get('/health/ready').expect(503);
    expect(res.body.error.embedding).toMatchObject({ status: 'down', message: 'not ready: tiny loading' });
    await t.close();
  });

  it('is not ready (503, naming the receiver) when RECEIVER_URL cannot be reached', async () => {
    const port = await freePort();
    const t = await startTestApp({ RECEIVER_URL: `http://127.0.0.1:${port}`, SENDER_ENABLED: 'false' });
    const res = await t.http().get('/health/ready').expect(503);
    expect(res.body.error.receiver.status).toBe('down');
    expect(res.body.details.database.status).toBe('up');
    await t.close();
  });

  it('does not hang on a receiver that never answers: the check times out', async () => {
    const silent = createServer(() => undefined); // accepts connections, never answers
    const port = await freePort();
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    const t = await startTestApp({
      RECEIVER_URL: `http://127.0.0.1:${port}`,
      SENDER_ENABLED: 'false',
      HEALTH_CHECK_TIMEOUT_MS: '300',
    });
    const started = Date.now();
    const res = await t.http().get('/health/ready').expect(503);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(res.body.error.receiver.status).toBe('down');
    await t.close();
    silent.closeAllConnections();
    silent.close();
  });
});

describe('Readiness details and the API key (e2e)', () => {
  const KEY = 'readiness-key';

  it('with API_KEY set, answers callers without the key each check’s status alone, the key’s holders everything', async () => {
    const port = await freePort();
    const receiverUrl = `http://127.0.0.1:${port}`;
    const t = await startTestApp({ API_KEY: KEY, RECEIVER_URL: receiverUrl, SENDER_ENABLED: 'false' });
    const anonymous = await t.http().get('/health/ready').expect(503);
    expect(anonymous.body).toEqual({
      status: 'error',
      info: { database: { status: 'up' }, embedding: { status: 'up' }, dependencies: { status: 'up' } },
      error: { receiver: { status: 'down' } },
      details: {
        database: { status: 'up' },
        embedding: { status: 'up' },
        receiver: { status: 'down' },
        dependencies: { status: 'up' },
      },
    });
    expect(JSON.stringify(anonymous.body)).not.toContain(String(port));

    const wrongKey = await t.http().get('/health/ready').set('x-api-key', 'not-the-key').expect(503);
    expect(wrongKey.body).toEqual(anonymous.body);
    const holder = await t.http().get('/health/ready').set('authorization', `Bearer ${KEY}`).expect(503);
    expect(holder.body.details.database).toMatchObject({ status: 'up', migrations: 'applied' });
    expect(holder.body.error.receiver.message).toEqual(expect.any(String));
    await t.close();
  });

  it('without API_KEY, answers everyone the details', async () => {
    const t = await startTestApp({ SENDER_ENABLED: 'false' });
    const ready = await t.http().get('/health/ready').expect(200);
    expect(ready.body.details.database).toMatchObject({ status: 'up', migrations: 'applied' });
    expect(ready.body.details.receiver).toMatchObject({ status: 'up', target: 'in-process' });
    await t.close();
  });
});
