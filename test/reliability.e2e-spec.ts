import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { sleep } from '../src/common/backoff';
import { HttpReceiverClient } from '../src/delivery/http-receiver.client';
import { startTinyModelApp, TestApp } from './app';
import { expectNoCountDrift } from './counts';
import { FaultDelivery, FaultReceiver } from './fault-receiver';
import { Scrape } from './metrics';
import { waitFor } from './wait';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * Fault tests with a real sender delivering over HTTP to a scriptable receiver (test/fault-receiver.ts) that stores
 * through this app's built-in receiver: outages of every kind, a chunk the receiver always fails, broken answers,
 * cancel then delete. RECEIVER_URL is given as the full endpoint, which the service cuts back to its base.
 */
describe('Reliability of delivery (e2e)', () => {
  let t: TestApp;
  const receiver = new FaultReceiver();
  let warn: jest.SpyInstance;
  let log: jest.SpyInstance;

  beforeAll(async () => {
    await receiver.up();
    t = await startTinyModelApp({
      RECEIVER_URL: `${receiver.url}/receiver/embeddings`,
      RECEIVER_TIMEOUT_MS: '1000',
      RECEIVER_MAX_RETRIES: '1',
      SENDER_BATCH_SIZE: '256',
      SENDER_CONCURRENCY: '2',
      SENDER_POLL_INTERVAL_MS: '100',
      SENDER_RETRY_BASE_MS: '20',
      SENDER_MAX_ATTEMPTS: '2',
      SENDER_BREAKER_FAILURES: '2',
      SENDER_BREAKER_PROBE_MS: '200',
    });
    await t.app.listen(0, '127.0.0.1');
    receiver.forwardTo = `http://127.0.0.1:${(t.app.getHttpServer().address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await t?.close();
    await receiver.down();
  });
  beforeEach(() => {
    receiver.fault = () => 'store';
    warn = jest.spyOn(Logger.prototype, 'warn');
    log = jest.spyOn(Logger.prototype, 'log');
  });
  afterEach(() => jest.restoreAllMocks());

  async function createTask(n: number, name: string): Promise<number> {
    const chunks = Array.from({ length: n }, (_, i) => ({ text: `${name} ${i}` }));
    return (await t.http().post('/tasks').send({ name, model: 'tiny', chunks }).expect(201)).body.id;
  }
  const task = async (id: number) => (await t.http().get(`/tasks/${id}`).expect(200)).body;
  const settled = (id: number) =>
    waitFor(async () => {
      const current = await task(id);
      return ['completed', 'failed'].includes(current.status) && current.progress.inProgress === 0
        ? current
        : undefined;
    }, 40_000);
  const chunksOf = async (id: number) => (await t.http().get(`/tasks/${id}/chunks?limit=1000`).expect(200)).body.items;
  const receiverUp = async () =>
    new Scrape((await t.http().get('/metrics')).text).value('embedding_tasks_dependency_up', {
      dependency: 'receiver',
    });
  const lines = (spy: jest.SpyInstance, text: string) =>
    spy.mock.calls.filter(([message]) => String(message).includes(text));

  it('serves RECEIVER_URL given as the full endpoint: ready, and every chunk stored once', async () => {
    expect(t.config.receiver.url).toBe(receiver.url);
    const ready = await t.http().get('/health/ready').expect(200);
    expect(ready.body.details.receiver.status).toBe('up');
    const id = await createTask(20, 'endpoint');
    expect(await settled(id)).toMatchObject({ status: 'completed', progress: { done: 20, failed: 0 } });
  });

  it('readiness probes the endpoint delivery calls: a URL whose endpoint is missing (404) is down', async () => {
    const client = (url: string) => new HttpReceiverClient({ url, timeoutMs: 1000, maxRetries: 0 });
    await expect(client(`${receiver.forwardTo}/elsewhere`).checkReachable()).rejects.toThrow(/answered 404/);
    await expect(client(receiver.forwardTo).checkReachable()).resolves.toBeUndefined();
  });

  it('an outage (timeouts, 503s, refused connections) far longer than attempts × backoff fails nothing; the breaker opens and closes by itself', async () => {
    receiver.fault = () => 'hang';
    const id = await createTask(64, 'outage');
    await sleep(1500);
    receiver.fault = () => 'unavailable';
    // Open: the metric, readiness and one log line say so.
    await waitFor(async () => ((await receiverUp()) === 0 ? true : undefined));
    const notReady = await t.http().get('/health/ready').expect(503);
    expect(notReady.body.error.dependencies).toMatchObject({ status: 'down', receiver: 'down' });
    expect(notReady.body.error.dependencies.message).toMatch(
      /receiver unavailable, claims paused: receiver answered 503/,
    );
    await sleep(1500);
    await receiver.down();
    await sleep(1500);
    const during = await task(id);
    expect(during.progress).toMatchObject({ done: 0, failed: 0 });
    await receiver.up();
    receiver.fault = () => 'store';
    const final = await settled(id);
    expect(final).toMatchObject({ status: 'completed', progress: { done: 64, failed: 0 } });
    expect(await receiverUp()).toBe(1);
    await t.http().get('/health/ready').expect(200);
    // Every chunk stored exactly once, none with an attempt used up by the outage.
    const chunks = await chunksOf(id);
    expect(
      [...receiver.storedCounts().entries()]
        .filter(([chunkId]) => chunks.some((c: { chunkId: number }) => c.chunkId === chunkId))
        .map(([, n]) => n),
    ).toEqual(Array(64).fill(1));
    expect(Math.max(...chunks.map((chunk: { attempts: number }) => chunk.attempts))).toBeLessThanOrEqual(1);
    expect(lines(warn, 'receiver unavailable')).toHaveLength(1);
    expect(lines(log, 'receiver available again: resuming claims')).toHaveLength(1);
    await expectNoCountDrift(receiver.forwardTo);
  });

  it('the receiver’s breaker closes by its readiness probe once the receiver is back, even with no work left to try', async () => {
    receiver.fault = () => 'unavailable';
    const id = await createTask(8, 'probe-only');
    await waitFor(async () => ((await receiverUp()) === 0 ? true : undefined));
    // The only work is cancelled: no trial batch can close the breaker now.
    await t.http().post(`/tasks/${id}/cancel`).expect(200);
    receiver.fault = () => 'store';
    await waitFor(async () => ((await receiverUp()) === 1 ? true : undefined));
    await t.http().get('/health/ready').expect(200);
    expect(lines(log, 'receiver available again: resuming claims')).toHaveLength(1);
    expect(receiver.arrivals.filter((arrival) => arrival.taskId === id && arrival.fault === 'store')).toEqual([]);
  });

  it('a chunk the receiver always fails (500) ends failed alone with the receiver’s message; the 255 others are stored', async () => {
    const bad = sha256('one-bad 100');
    receiver.errorMessage = 'disk says no to this vector';
    receiver.fault = (delivery: FaultDelivery) =>
      delivery.items.some((item) => item.content_hash === bad) ? 'error' : 'store';
    const id = await createTask(256, 'one-bad');
    const final = await settled(id);
    expect(final).toMatchObject({ status: 'failed', progress: { done: 255, failed: 1 } });
    const [failed] = (await t.http().get(`/tasks/${id}/chunks?status=failed`).expect(200)).body.items;
    expect(failed).toMatchObject({ text: 'one-bad 100', attempts: 2 });
    expect(failed.lastError).toContain('receiver answered 500: disk says no to this vector');
    expect(lines(warn, 'receiver unavailable')).toHaveLength(0);
  });

  it('a cut-off answer or a wrong {stored} count is not a delivery: nothing is done until the receiver answers whole', async () => {
    receiver.fault = () => 'cut';
    const id = await createTask(16, 'broken-answers');
    await waitFor(async () => (receiver.arrivals.some((a) => a.taskId === id && a.fault === 'cut') ? true : undefined));
    await sleep(500);
    receiver.fault = () => 'wrong-stored';
    await waitFor(async () =>
      receiver.arrivals.some((a) => a.taskId === id && a.fault === 'wrong-stored') ? true : undefined,
    );
    await sleep(500);
    expect((await task(id)).progress).toMatchObject({ done: 0, failed: 0 });
    receiver.fault = () => 'store';
    expect(await settled(id)).toMatchObject({ status: 'completed', progress: { done: 16, failed: 0 } });
  });

  it('cancel is final: after it answers, and a delete right after, no vector of the task is delivered', async () => {
    // Slow: batches are in flight when the cancel comes.
    receiver.delayMs = 300;
    const id = await createTask(1024, 'cancel-final');
    await waitFor(async () => ((await task(id)).progress.done > 0 ? true : undefined), 30_000, 20);
    await t.http().post(`/tasks/${id}/cancel`).expect(200);
    const cancelledAt = Date.now();
    await t.http().delete(`/tasks/${id}`).expect(204);
    receiver.delayMs = 0;
    await sleep(1500);
    const ofTask = receiver.arrivals.filter((arrival) => arrival.taskId === id);
    expect(ofTask.length).toBeGreaterThan(0);
    expect(ofTask.filter((arrival) => arrival.arrivedAt > cancelledAt)).toEqual([]);
    expect(ofTask.filter((arrival) => (arrival.answeredAt ?? 0) > cancelledAt)).toEqual([]);
    await t.http().get(`/tasks/${id}`).expect(404);
  });
});
