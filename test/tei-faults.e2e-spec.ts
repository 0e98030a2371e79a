import { DataSource } from 'typeorm';
import { allEmbedded } from '../src/embedding/providers/embedding-model';
import { OnnxModel } from '../src/embedding/providers/onnx/onnx-model';
import { ensureModel } from './fixtures/model/make-model';
import { TeiModel } from '../src/embedding/providers/remote/tei/tei-model';
import { startTestApp, TestApp } from './app';
import { FakeTei } from './fake-tei';
import { TestReceiver } from './processes';
import { Scrape } from './metrics';
import { waitFor } from './wait';
import { EmbeddingService } from '../src/embedding/embedding.service';

const MODEL = 'test/tiny';
const BATCH = 8;
/** /info's max_concurrent_requests: 64 inputs, so a window of 64 / 8 = 8 requests. */
const DECLARED_CAPACITY = 64;

interface LinkRow {
  chunk_id: number;
  text: string;
  status: string;
  last_error: string | null;
  attempts: number;
}

/**
 * EMBEDDING_PROVIDER=tei against a TEI that misbehaves: 429 bursts and a full queue, 413 for large batches, one input
 * refused (422 and 413 Validation), 503 then recovery, answers past the time limit, connection resets. Every case
 * ends with each chunk either stored exactly once (counted by a receiver in front of the store) with the right
 * vector, or failed with TEI's message; none lost, none duplicated.
 */
describe('TEI provider against a faulty TEI (e2e)', () => {
  let local: OnnxModel;
  let tei: FakeTei;
  let receiver: TestReceiver;
  let t: TestApp;
  let sql: DataSource;
  let provider: TeiModel;
  let caseNumber = 0;

  beforeAll(async () => {
    local = new OnnxModel({ id: 'tiny', path: await ensureModel('tiny') }, { intraOpNumThreads: 1 });
    await local.load();
    tei = new FakeTei(local, 'tiny', {
      model_id: MODEL,
      max_client_batch_size: BATCH,
      max_concurrent_requests: DECLARED_CAPACITY,
    });
    await tei.start();
    receiver = new TestReceiver('');
    await receiver.start();
    t = await startTestApp({
      EMBEDDING_PROVIDER: 'tei',
      TEI_URL: tei.url,
      TEI_TIMEOUT_MS: '1000',
      TEI_MAX_ATTEMPTS: '3',
      TEI_RETRY_BASE_MS: '10',
      SENDER_BATCH_SIZE: '32',
      SENDER_CONCURRENCY: '2',
      SENDER_POLL_INTERVAL_MS: '100',
      SENDER_RETRY_BASE_MS: '20',
      SENDER_MAX_ATTEMPTS: '10',
      SENDER_BREAKER_PROBE_MS: '200',
      RECEIVER_URL: receiver.url,
    });
    receiver.forwardTo = await t.listen();
    sql = t.app.get(DataSource);
    provider = t.app.get(EmbeddingService).model(MODEL) as TeiModel;
  });
  afterEach(() => (tei.faults = {}));
  afterAll(async () => {
    await t?.close();
    await receiver?.stop();
    await tei?.stop();
    await local?.close();
  });

  /** A task of `n` new chunks (texts unique to this case, so no vector is reused); resolves once it is settled. */
  async function runTask(n: number, poison?: { index: number; text: string }) {
    const prefix = `case ${++caseNumber}`;
    const texts = Array.from({ length: n }, (_, i) => `${prefix} chunk ${i}: ${'lorem ipsum '.repeat((i % 5) + 1)}`);
    if (poison) texts[poison.index] = poison.text;
    const created = await t
      .http()
      .post('/tasks')
      .send({ name: prefix, model: MODEL, chunks: texts.map((text) => ({ text })) })
      .expect(201);
    const task = await waitFor(async () => {
      const body = (await t.http().get(`/tasks/${created.body.id}`)).body;
      return ['completed', 'failed'].includes(body.status) ? body : undefined;
    }, 45_000);
    const links: LinkRow[] = await sql.query(
      `SELECT l.chunk_id, c.text, l.status, l.last_error, l.attempts FROM mgmt.embed_task_chunk l
       JOIN mgmt.embed_chunk c ON c.id = l.chunk_id WHERE l.task_id = $1 ORDER BY l.chunk_id`,
      [created.body.id],
    );
    return { task, links };
  }

  /** Done chunks were acknowledged once each, with the local model's vector; failed ones never reached the store. */
  async function expectStoredOnce(links: LinkRow[]) {
    const counts = receiver.counts();
    const done = links.filter((link) => link.status === 'done');
    const failed = links.filter((link) => link.status === 'failed');
    expect(done.length + failed.length).toBe(links.length);
    done.forEach((link) => expect(counts.get(link.chunk_id)).toBe(1));
    failed.forEach((link) => expect(counts.get(link.chunk_id)).toBeUndefined());
    const stored: { chunk_id: number; embedding: number[] }[] = await sql.query(
      `SELECT chunk_id, embedding FROM mgmt.embedding WHERE model = $1 AND chunk_id = ANY($2)`,
      [MODEL, links.map((link) => link.chunk_id)],
    );
    expect(stored.map((row) => row.chunk_id).sort((a, b) => a - b)).toEqual(done.map((link) => link.chunk_id));
    const byChunk = new Map(stored.map((row) => [row.chunk_id, row.embedding]));
    const texts = done.map((link) => link.text);
    const expected = allEmbedded(await local.embed(texts, { truncate: true, normalize: true }));
    done.forEach((link, i) => {
      const vector = byChunk.get(link.chunk_id)!;
      vector.forEach((value, j) => expect(Math.abs(value - expected[i][j])).toBeLessThan(1e-5));
    });
  }

  it('backs off on 429 bursts and a full TEI queue, shrinking its window, then grows it back', async () => {
    expect(provider.window()).toMatchObject({ size: 8, max: 8, decreases: 0 });
    // A burst of 429s, then TEI takes only two batches at once although /info declares room for eight.
    tei.faults = { overloaded: 6, retryAfter: '0', capacity: 2 * BATCH };
    const { task, links } = await runTask(200);
    expect(task.status).toBe('completed');
    await expectStoredOnce(links);
    const squeezed = provider.window()!;
    expect(squeezed.decreases).toBeGreaterThan(0);
    expect(squeezed.lowest).toBeLessThanOrEqual(2);
    expect(tei.stats.statuses[429]).toBeGreaterThan(6);

    tei.faults = {};
    const decreases = squeezed.decreases;
    const again = await runTask(600);
    expect(again.task.status).toBe('completed');
    await expectStoredOnce(again.links);
    expect(provider.window()).toMatchObject({ size: 8, decreases });
  });

  it('splits batches that TEI refuses as too large (413), never sending more than max_client_batch_size', async () => {
    tei.faults = { payloadLimitInputs: 3 };
    const before = tei.stats.statuses[413] ?? 0;
    const { task, links } = await runTask(100);
    expect(task.status).toBe('completed');
    await expectStoredOnce(links);
    expect(tei.stats.statuses[413]).toBeGreaterThan(before);
    expect(tei.stats.largestBatch).toBeLessThanOrEqual(BATCH);
  });

  it.each([
    [422, /TEI refused texts\[\d+\]: TEI answered 422 to POST \/embed \(tokenizer: Tokenization error/],
    [413, /TEI refused texts\[\d+\]: TEI answered 413 to POST \/embed \(validation: Input validation error/],
  ] as const)(
    'fails only the input TEI refuses with %i, with its message; the rest are stored',
    async (status, message) => {
      tei.faults = { badInput: { contains: 'POISON', status } };
      const before = tei.stats.requests;
      const { task, links } = await runTask(100, { index: 37, text: `POISON ${status}` });
      // 13 requests of up to 8 (sender batches of 32, 32, 32, 4) and 6 to corner the bad input by halving; the
      // provider answers the refusal beside the other vectors, so nothing is sent twice.
      expect(tei.stats.requests - before).toBeLessThanOrEqual(19);
      expect(task).toMatchObject({ status: 'failed', progress: { done: 99, failed: 1 } });
      const failed = links.filter((link) => link.status === 'failed');
      expect(failed.map((link) => link.text)).toEqual([`POISON ${status}`]);
      expect(failed[0].last_error).toMatch(message);
      await expectStoredOnce(links);
    },
  );

  it('rides out 503s (retried here, then by the sender) and recovers', async () => {
    // More 503s than TEI_MAX_ATTEMPTS (3) tries of every request in flight: some batches go back to the sender.
    tei.faults = { unavailable: 30, retryAfter: '0' };
    const { task, links } = await runTask(100);
    expect(task.status).toBe('completed');
    await expectStoredOnce(links);
    expect(tei.faults.unavailable).toBe(0);
    // The batches that went back used none of their chunks' attempts: TEI's outage is not the chunks' failure.
    expect(links.every((link) => link.attempts === 1)).toBe(true);
  });

  it('a TEI that stays down opens the model’s breaker (metric, readiness), uses no attempt, and the breaker closes once TEI is back', async () => {
    tei.faults = { unavailable: 1_000_000, retryAfter: '0' };
    const running = runTask(40);
    const dependency = `embedding:${MODEL}`;
    const up = async () =>
      new Scrape((await t.http().get('/metrics')).text).value('embedding_tasks_dependency_up', { dependency });
    await waitFor(async () => ((await up()) === 0 ? true : undefined));
    const notReady = await t.http().get('/health/ready').expect(503);
    expect(notReady.body.error.dependencies).toMatchObject({ status: 'down', [dependency]: 'down' });
    tei.faults = {};
    const { task, links } = await running;
    expect(task.status).toBe('completed');
    expect(links.every((link) => link.attempts === 1)).toBe(true);
    await expectStoredOnce(links);
    expect(await up()).toBe(1);
  });

  it('retries requests that run past TEI_TIMEOUT_MS', async () => {
    tei.faults = { slow: { count: 3, delayMs: 1500 } };
    const { task, links } = await runTask(100);
    expect(task.status).toBe('completed');
    await expectStoredOnce(links);
    expect(tei.faults.slow!.count).toBeLessThanOrEqual(0);
  });

  it('retries requests whose connection TEI resets', async () => {
    tei.faults = { resets: 5 };
    const { task, links } = await runTask(100);
    expect(task.status).toBe('completed');
    await expectStoredOnce(links);
    expect(tei.faults.resets).toBe(0);
  });

  it('reports TEI unhealthy in readiness, and ready again once it recovers', async () => {
    tei.faults = { unhealthy: true };
    const down = await t.http().get('/health/ready').expect(503);
    expect(down.body.details.embedding.message).toMatch(/TEI at .* is not healthy \(GET \/health\): TEI answered 503/);
    tei.faults = {};
    await t.http().get('/health/ready').expect(200);
  });
});

describe('TEI provider with an API key (e2e)', () => {
  let local: OnnxModel;
  let tei: FakeTei;

  beforeAll(async () => {
    local = new OnnxModel({ id: 'tiny', path: await ensureModel('tiny') }, { intraOpNumThreads: 1 });
    await local.load();
    const info = { model_id: MODEL, max_client_batch_size: BATCH, max_concurrent_requests: DECLARED_CAPACITY };
    tei = new FakeTei(local, 'tiny', info, 's3cret');
    await tei.start();
  });
  afterAll(async () => {
    await tei?.stop();
    await local?.close();
  });

  it('sends TEI_API_KEY as a bearer token', async () => {
    const t = await startTestApp({
      EMBEDDING_PROVIDER: 'tei',
      TEI_URL: tei.url,
      TEI_API_KEY: 's3cret',
      SENDER_ENABLED: 'false',
    });
    try {
      const res = await t.http().post('/embeddings/single').send({ text: 'with a key' }).expect(200);
      expect(res.body).toMatchObject({ model: MODEL, dimensions: local.info().dimensions });
    } finally {
      await t.close();
    }
  });

  it('refuses to start without the key, saying which setting to check', async () => {
    const start = startTestApp({ EMBEDDING_PROVIDER: 'tei', TEI_URL: tei.url, SENDER_ENABLED: 'false' });
    await expect(start).rejects.toThrow(/TEI answered 401 to GET \/info.*check TEI_API_KEY/);
  });
});
