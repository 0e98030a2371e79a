import { ChildProcess, spawn } from 'node:child_process';
import { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/config/config.loader';
import { createTestDatabase, TestDatabase } from './database';
import { freePort } from './ports';
import { TcpProxy } from './tcp-proxy';
import { waitFor } from './wait';

/** The database goes away under a running service, through a relay the test can cut. */
describe('REST while the database is unavailable (e2e)', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let app: NestExpressApplication;
  let taskId: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(db.url);
    proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.start();
    app = await createApp(
      loadConfig({
        LOG_LEVEL: 'error',
        SENDER_ENABLED: 'false',
        DATABASE_URL: proxy.url(db.url),
        DATABASE_CONNECT_TIMEOUT_MS: '500',
      }),
    );
    const created = await request(app.getHttpServer())
      .post('/tasks')
      .send({ name: 'before', model: 'm', chunks: [{ text: 'stored before the outage' }] })
      .expect(201);
    taskId = created.body.id;
  });
  afterAll(async () => {
    await app.close();
    await proxy.stop();
    await db.drop();
  });

  const http = () => request(app.getHttpServer());
  const receiverBatch = {
    task_id: 1,
    model: 'm',
    dimensions: 2,
    items: [{ chunk_id: 1, content_hash: 'a'.repeat(64), embedding: [1, 0] }],
  };

  it('answers 503 with Retry-After and a JSON body on every database route, then recovers without a restart', async () => {
    await proxy.pause();
    const answers = {
      'GET /tasks': await http().get('/tasks'),
      'POST /tasks': await http()
        .post('/tasks')
        .send({ name: 'during', model: 'm', chunks: [{ text: 'sent during the outage' }] }),
      'GET /tasks/:id': await http().get(`/tasks/${taskId}`),
      'POST /tasks/:id/cancel': await http().post(`/tasks/${taskId}/cancel`),
      'POST /receiver/embeddings': await http().post('/receiver/embeddings').send(receiverBatch),
    };
    for (const [route, answer] of Object.entries(answers)) {
      expect({ route, status: answer.status }).toEqual({ route, status: 503 });
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(answer.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: expect.stringMatching(/database unavailable/),
      });
    }

    await proxy.resume();
    await waitFor(async () => ((await http().get('/tasks')).status === 200 ? true : undefined));
    await http().get(`/tasks/${taskId}`).expect(200);
    const listed = await http().get('/tasks').expect(200);
    // The refused POST wrote nothing: only the task from before the outage is there.
    expect(listed.body.items.map((task: { name: string }) => task.name)).toEqual(['before']);
  });

  it('answers 503 once DATABASE_CONNECT_TIMEOUT_MS passes without a connection from a database gone silent', async () => {
    proxy.silent = true;
    proxy.cutConnections();
    try {
      const answer = await http().get(`/tasks/${taskId}`);
      expect(answer.status).toBe(503);
      expect(answer.headers['retry-after']).toBeDefined();
    } finally {
      proxy.silent = false;
      proxy.cutConnections();
    }
    await waitFor(async () => ((await http().get(`/tasks/${taskId}`)).status === 200 ? true : undefined));
  });
});

/** src/main.ts in a child process, as an orchestrator starts it beside a database that is not up yet. */
describe('Start-up while the database is down (e2e)', () => {
  const PASSWORD = 'pw-never-in-a-log-line';

  function startMain(env: Record<string, string>) {
    const { API_KEY, ...inherited } = process.env;
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      env: {
        ...inherited,
        HOST: '127.0.0.1',
        LOG_LEVEL: 'log',
        SENDER_ENABLED: 'false',
        TS_NODE_TRANSPILE_ONLY: 'true',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const listeners: (() => void)[] = [];
    const onData = (data: Buffer) => {
      output += data.toString();
      process.stdout.write(data); // the test's own output, shown when it fails
      listeners.forEach((listener) => listener());
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const sees = (pattern: RegExp) =>
      new Promise<boolean>((resolve) => {
        const check = () => pattern.test(output) && resolve(child.exitCode === null);
        listeners.push(check);
        check();
        void exited.then(() => resolve(false));
      });
    return { child, exited, output: () => output, sees };
  }

  let running: ChildProcess | undefined;
  afterEach(() => {
    if (running?.exitCode === null) running.kill('SIGKILL');
  });

  it('logs each attempt as it happens, then exits non-zero with one line naming host:port and no password', async () => {
    const port = await freePort();
    const main = startMain({
      PORT: String(await freePort()),
      DATABASE_URL: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/nowhere`,
      DATABASE_STARTUP_WAIT_MS: '2500',
    });
    running = main.child;
    // Seen while the process still runs: the line was written when the attempt failed, not buffered to the end.
    expect(await main.sees(/not reachable \(attempt 1:/)).toBe(true);
    expect(await main.exited).toBe(1);
    const attempts = main.output().match(/Database at 127\.0\.0\.1:\d+ not reachable \(attempt \d+/g) ?? [];
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(main.output()).toMatch(
      new RegExp(
        `Database at 127\\.0\\.0\\.1:${port} unreachable for 3 s \\(DATABASE_STARTUP_WAIT_MS\\), giving up: .*ECONNREFUSED`,
      ),
    );
    expect(main.output()).not.toContain(PASSWORD);
  }, 60_000);

  it('starts normally when the database comes up within the wait', async () => {
    const db = await createTestDatabase();
    const target = new URL(db.url);
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const port = await freePort();
    const httpPort = await freePort();
    const main = startMain({
      PORT: String(httpPort),
      DATABASE_URL: proxy.url(db.url).replace(/:\d+\//, `:${port}/`),
      DATABASE_STARTUP_WAIT_MS: '60000',
    });
    running = main.child;
    try {
      expect(await main.sees(/not reachable \(attempt 1:/)).toBe(true);
      await proxy.start(port); // the database comes up
      expect(await main.sees(/Listening on/)).toBe(true);
      expect(main.output()).toMatch(new RegExp(`Database at 127\\.0\\.0\\.1:${port} is reachable \\(attempt \\d+\\)`));
      expect((await fetch(`http://127.0.0.1:${httpPort}/health/ready`)).status).toBe(200);
      main.child.kill('SIGTERM');
      expect(await main.exited).toBe(0);
    } finally {
      await proxy.stop();
      await db.drop();
    }
  }, 90_000);
});
