import { startTestApp, TestApp } from './app';

describe('API key (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ API_KEY: 'test-key-123' });
  });
  afterAll(() => t.close());

  it('answers 401 without a key, naming how to send one', async () => {
    const res = await t.http().get('/tasks').expect(401);
    expect(res.body.message).toBe('API key required: send Authorization: Bearer <key> or x-api-key');
  });

  it('answers 401 for a wrong key, in either header', async () => {
    expect((await t.http().get('/tasks').set('x-api-key', 'nope').expect(401)).body.message).toBe('invalid API key');
    await t.http().get('/tasks').set('Authorization', 'Bearer test-key-1234').expect(401);
  });

  it('accepts the key as a Bearer token or as x-api-key', async () => {
    await t.http().get('/tasks').set('Authorization', 'Bearer test-key-123').expect(200);
    await t.http().post('/tasks').set('x-api-key', 'test-key-123').send({ name: 'n', model: 'm', chunks: [{ text: 'x' }] }).expect(201);
  });

  it('leaves health checks and the API docs open', async () => {
    await t.http().get('/health/live').expect(200);
    await t.http().get('/health/ready').expect(200);
    await t.http().get('/apidocs-json').expect(200);
    await t.http().get('/apidocs').expect((res) => expect([200, 301]).toContain(res.status));
  });
});

describe('without API_KEY (e2e)', () => {
  it('needs no key', async () => {
    const t = await startTestApp();
    await t.http().get('/tasks').expect(200);
    await t.close();
  });
});
