import { ensureModel } from './fixtures/model/make-model';
import { startTestApp, TestApp } from './app';
import { ServiceProcess, startService } from './processes';
import { waitFor } from './wait';

/** The real service in a child process, its stdout read as an operator's log collector would. */
describe('Structured logs (e2e)', () => {
  const SECRET_KEY = 'k3y-that-must-never-be-logged';
  const SECRET_TEXT = 'chunk text that must never be logged';
  let service: ServiceProcess;
  let db: TestApp;

  beforeAll(async () => {
    db = await startTestApp({ SENDER_ENABLED: 'false' }); // only for its migrated database
    const model = await ensureModel('tiny');
    service = await startService(
      {
        DATABASE_URL: db.db.url,
        API_KEY: SECRET_KEY,
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'debug',
        EMBEDDING_MODELS: `tiny=${model}`,
        SENDER_POLL_INTERVAL_MS: '200',
      },
      'serving tiny',
    );
  });
  afterAll(async () => {
    service.child.kill('SIGTERM');
    await service.exited;
    await db.close();
  });

  const lines = () =>
    service
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('writes JSON lines with a request id, echoing the caller’s x-request-id, and no key or chunk text', async () => {
    const created = await fetch(`${service.url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': SECRET_KEY, 'x-request-id': 'req-from-caller-1' },
      body: JSON.stringify({ name: 'logged', model: 'tiny', chunks: [{ text: SECRET_TEXT }] }),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-request-id')).toBe('req-from-caller-1');
    const { id } = (await created.json()) as { id: number };
    await waitFor(async () =>
      lines().some((line) => line.taskId === id && /completed/.test(String(line.msg))) ? true : undefined,
    );

    const access = lines().find((line) => (line.req as { id?: string } | undefined)?.id === 'req-from-caller-1');
    expect(access).toBeDefined();
    expect((access!.req as { headers: object }).headers).toEqual({
      'content-type': 'application/json',
      'content-length': expect.any(String),
      'user-agent': expect.any(String),
    });
    expect(service.output()).not.toContain(SECRET_KEY);
    expect(service.output()).not.toContain(SECRET_TEXT);
  });

  it('logs headers by an allow-list: no credential header, cookie or query string reaches a line', async () => {
    const secrets = ['Basic cHJveHk6c2VjcmV0', 'session=cookie-secret', 'future-credential-secret', 'query-secret'];
    const res = await fetch(`${service.url}/tasks?token=query-secret`, {
      headers: {
        'x-api-key': SECRET_KEY,
        'proxy-authorization': secrets[0],
        cookie: secrets[1],
        'x-future-credential': secrets[2],
        'x-request-id': 'req-with-credentials',
      },
    });
    expect(res.status).toBe(400); // `token` is not a query parameter of GET /tasks: refused, and still logged
    const access = await waitFor(async () =>
      lines().find((line) => (line.req as { id?: string } | undefined)?.id === 'req-with-credentials'),
    );
    expect(access.req).toEqual({
      id: 'req-with-credentials',
      method: 'GET',
      url: '/tasks',
      headers: expect.any(Object),
    });
    expect(Object.keys((access.req as { headers: object }).headers).sort()).toEqual(['user-agent']);
    for (const secret of [SECRET_KEY, ...secrets]) expect(service.output()).not.toContain(secret);
  });

  it("leaves health probes out of the access log, TEI's included", async () => {
    const probes = ['/health/live', '/health/ready', '/health', '/ping', '/'];
    for (const path of probes) {
      const res = await fetch(`${service.url}${path}`, { headers: { 'x-request-id': `probe-${path}` } });
      expect(res.status).toBe(200);
    }
    // A request that is logged, sent last: once its line is out, the probes' would be too.
    await fetch(`${service.url}/info`, { headers: { 'x-request-id': 'after-probes' } });
    await waitFor(async () =>
      lines().some((line) => (line.req as { id?: string })?.id === 'after-probes') ? true : undefined,
    );
    const probeLines = lines().filter((line) =>
      String((line.req as { id?: string } | undefined)?.id).startsWith('probe-'),
    );
    expect(probeLines).toEqual([]);
  });

  it('puts the task id on task lines and the batch id on batch lines', () => {
    const pipeline = lines().filter((line) => line.context === 'Sender');
    expect(
      pipeline
        .filter((line) => /started|completed/.test(String(line.msg)))
        .every((line) => typeof line.taskId === 'number'),
    ).toBe(true);
    const batchLines = pipeline.filter((line) => /^batch /.test(String(line.msg)));
    expect(batchLines.length).toBeGreaterThan(0);
    expect(batchLines.every((line) => typeof line.batchId === 'string' && Array.isArray(line.taskIds))).toBe(true);
  });
});
