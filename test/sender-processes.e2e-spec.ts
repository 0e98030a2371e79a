import { DataSource } from 'typeorm';
import { OnnxModel } from '../src/embedding/providers/onnx/onnx-model';
import { ensureModel } from './fixtures/model/make-model';
import { startTestApp, TestApp } from './app';
import { expectNoCountDrift } from './counts';
import { ServiceProcess, startService, TestReceiver } from './processes';
import { waitFor } from './wait';

/**
 * Senders in real child processes against one database, delivering over HTTP to a receiver that counts what it
 * acknowledged. The test's own app (sender off) serves the API and the built-in receiver that stores the vectors.
 */
describe('Senders in separate processes (e2e)', () => {
  let t: TestApp;
  let sql: DataSource;
  let model: string;
  const children: ServiceProcess[] = [];

  beforeAll(async () => {
    model = await ensureModel('tiny');
    t = await startTestApp({ SENDER_ENABLED: 'false' });
    await t.app.listen(0, '127.0.0.1');
    sql = t.app.get(DataSource);
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.child.kill('SIGKILL');
  });
  afterAll(() => t.close());

  const apiUrl = () => {
    const address = t.app.getHttpServer().address() as { port: number };
    return `http://127.0.0.1:${address.port}`;
  };

  async function sender(receiver: TestReceiver, env: Record<string, string> = {}): Promise<ServiceProcess> {
    const child = await startService(
      {
        DATABASE_URL: t.db.url,
        EMBEDDING_MODELS: `tiny=${model}`,
        RECEIVER_URL: receiver.url,
        RECEIVER_ENABLED: 'false',
        SENDER_POLL_INTERVAL_MS: '200',
        SENDER_BATCH_SIZE: '16',
        SENDER_RETRY_BASE_MS: '50',
        ...env,
      },
      'serving tiny',
    );
    children.push(child);
    return child;
  }

  const textsOf = (n: number, prefix: string) =>
    Array.from({ length: n }, (_, i) => `${prefix} ${i} ${'word '.repeat(i % 7)}`);

  async function createTask(n: number, prefix: string): Promise<number> {
    const chunks = textsOf(n, prefix).map((text) => ({ text }));
    const res = await fetch(`${apiUrl()}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: prefix, model: 'tiny', chunks }),
    });
    return ((await res.json()) as { id: number }).id;
  }

  const taskStatus = async (id: number) => {
    const body = (await (await fetch(`${apiUrl()}/tasks/${id}`)).json()) as {
      status: string;
      progress: Record<string, number>;
    };
    return body;
  };

  const finished = (id: number, timeoutMs = 60_000) =>
    waitFor(async () => {
      const task = await taskStatus(id);
      return ['completed', 'failed'].includes(task.status) ? task : undefined;
    }, timeoutMs);

  /** The task's tokens are its texts' own counts, each once: exact however its batches went (crashes included). */
  async function expectTokensOf(taskId: number, texts: string[]): Promise<void> {
    const counter = new OnnxModel({ id: 'tiny', path: model });
    await counter.load();
    try {
      const counts = await counter.countTokens(texts);
      const [row] = await sql.query(`SELECT tokens, saved_tokens FROM mgmt.task WHERE id = $1`, [taskId]);
      expect(row).toEqual({ tokens: counts.reduce((sum, count) => sum + count, 0), saved_tokens: 0 });
    } finally {
      await counter.close();
    }
  }

  async function storedPerChunk(taskId: number): Promise<number[]> {
    const rows = await sql.query(
      `SELECT count(e.chunk_id)::int AS n FROM mgmt.embed_task_chunk l
       LEFT JOIN mgmt.embedding e ON e.chunk_id = l.chunk_id AND e.model = 'tiny' WHERE l.task_id = $1
       GROUP BY l.id ORDER BY l.id`,
      [taskId],
    );
    return rows.map((row: { n: number }) => row.n);
  }

  it('loses nothing when a sender is killed with SIGKILL mid-batch: another finishes after the lease expires', async () => {
    const receiver = new TestReceiver(apiUrl(), { delayMs: 400 });
    await receiver.start();
    const taskId = await createTask(120, 'crash');
    const first = await sender(receiver, { SENDER_LEASE_SECONDS: '2', WORKER_ID: 'doomed' });
    await waitFor(async () => (receiver.requests > 0 ? true : undefined));
    first.child.kill('SIGKILL');
    await first.exited;
    const held = await sql.query(`SELECT count(*)::int AS n FROM mgmt.embed_task_chunk WHERE lease_owner = 'doomed'`);
    expect(held[0].n).toBeGreaterThan(0);

    await sender(receiver, { SENDER_LEASE_SECONDS: '2', WORKER_ID: 'rescuer' });
    const task = await finished(taskId);
    expect(task).toMatchObject({ status: 'completed', progress: { done: 120, failed: 0 } });
    expect(await storedPerChunk(taskId)).toEqual(Array(120).fill(1));
    await expectTokensOf(taskId, textsOf(120, 'crash'));
    await expectNoCountDrift(apiUrl());
    await receiver.stop();
  }, 120_000);

  it('three senders on one database embed and deliver every chunk exactly once', async () => {
    const receiver = new TestReceiver(apiUrl());
    await receiver.start();
    await Promise.all([1, 2, 3].map((n) => sender(receiver, { WORKER_ID: `peer-${n}`, SENDER_BATCH_SIZE: '8' })));
    const taskId = await createTask(400, 'shared');
    expect((await finished(taskId)).status).toBe('completed');
    const counts = receiver.counts();
    expect(counts.size).toBe(400);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    await expectTokensOf(taskId, textsOf(400, 'shared'));
    await expectNoCountDrift(apiUrl());
    await receiver.stop();
  }, 120_000);

  it('rides out a receiver answering 503 for a while: nothing lost, nothing duplicated', async () => {
    const receiver = new TestReceiver(apiUrl(), { failFirst: 6 });
    await receiver.start();
    await sender(receiver, { RECEIVER_MAX_RETRIES: '2' });
    const taskId = await createTask(60, 'flaky');
    expect((await finished(taskId)).status).toBe('completed');
    expect([...receiver.counts().values()]).toEqual(Array(60).fill(1));
    expect(await storedPerChunk(taskId)).toEqual(Array(60).fill(1));
    await expectNoCountDrift(apiUrl());
    await receiver.stop();
  }, 120_000);

  it('fails only the chunk a receiver rejects with 422, with its message; the rest are done', async () => {
    const taskId = await createTask(40, 'picky');
    const [victim] = await sql.query(
      `SELECT chunk_id FROM mgmt.embed_task_chunk WHERE task_id = $1 ORDER BY id OFFSET 17 LIMIT 1`,
      [taskId],
    );
    const receiver = new TestReceiver(apiUrl(), { rejectChunk: victim.chunk_id });
    await receiver.start();
    await sender(receiver);
    const task = await finished(taskId);
    expect(task).toMatchObject({ status: 'failed', progress: { done: 39, failed: 1 } });
    const failed = await (await fetch(`${apiUrl()}/tasks/${taskId}/chunks?status=failed`)).json();
    expect((failed as { items: { chunkId: number; lastError: string }[] }).items).toEqual([
      expect.objectContaining({ chunkId: victim.chunk_id, lastError: expect.stringContaining('not wanted here') }),
    ]);
    await receiver.stop();
  }, 120_000);

  it('on SIGTERM finishes or releases in-flight work: nothing stays in progress', async () => {
    const receiver = new TestReceiver(apiUrl(), { delayMs: 300 });
    await receiver.start();
    const taskId = await createTask(80, 'graceful');
    const child = await sender(receiver, { SENDER_SHUTDOWN_GRACE_MS: '200', WORKER_ID: 'leaving' });
    await waitFor(async () => (receiver.requests > 0 ? true : undefined));
    child.child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    const open = await sql.query(
      `SELECT count(*)::int AS n FROM mgmt.embed_task_chunk WHERE task_id = $1 AND status = 'in_progress'`,
      [taskId],
    );
    expect(open[0].n).toBe(0);
    expect(child.output()).toMatch(/Sender stopped \(\d+ batches unfinished, \d+ chunks released\)/);
    await expectNoCountDrift(apiUrl());
    await receiver.stop();
  }, 120_000);
});
