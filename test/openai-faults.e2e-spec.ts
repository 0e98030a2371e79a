import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { OnnxModel } from '../src/embedding/providers/onnx/onnx-model';
import { OpenAiCompatibleModel } from '../src/embedding/providers/remote/openai-compatible/openai-compatible-model';

import { ensureModel } from './fixtures/model/make-model';
import { FakeOpenAi, FakeOpenAiFaults } from './fake-openai';
import { startTestApp, TestApp } from './app';
import { waitFor } from './wait';
import { EmbeddingService } from '../src/embedding/embedding.service';

const MODEL = 'remote-tiny';
/** 2,000 tokens a second: a task of 300 chunks (about 12,000 tiny-model tokens) takes several seconds of budget. */
const TPM = 120_000;

/**
 * The OpenAI-compatible provider against a fault-injecting OpenAI-compatible server (test/fake-openai.ts: real
 * vectors and token counts from the tiny model) that enforces a tokens-per-minute limit with 429 + Retry-After,
 * refuses one input with 400 and drops connections. Each case ends with every chunk stored once or failed with the
 * server's message; 429s and dropped connections cost no attempt.
 */
describe('OpenAI-compatible provider against a rate-limited, faulty server (e2e)', () => {
  let local: OnnxModel;
  let server: FakeOpenAi;
  let dir: string;
  let t: TestApp | undefined;

  beforeAll(async () => {
    local = new OnnxModel({ id: 'tiny', path: await ensureModel('tiny') });
    await local.load();
    server = new FakeOpenAi(local, 'tiny');
    await server.start();
    dir = mkdtempSync(join(tmpdir(), 'openai-faults-'));
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  afterAll(async () => {
    await server?.stop();
    await local?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The app with one model through the fake server; `entry` adds fields to its models-file entry. */
  async function start(entry: string[], env: Record<string, string> = {}): Promise<TestApp> {
    const file = join(dir, `models-${Date.now()}.yaml`);
    const lines = ['models:', `  - id: ${MODEL}`, '    backend: openai', `    url: ${server.url}`, '    model: tiny'];
    writeFileSync(file, [...lines, ...entry.map((line) => `    ${line}`)].join('\n'));
    t = await startTestApp({
      EMBEDDING_MODELS_FILE: file,
      SENDER_BATCH_SIZE: '100',
      SENDER_POLL_INTERVAL_MS: '200',
      SENDER_REUSE_EMBEDDINGS: 'false',
      ...env,
    });
    return t;
  }

  const texts = (n: number, prefix: string) =>
    Array.from({ length: n }, (_, i) => `${prefix} chunk ${i}: ${'lorem ipsum dolor '.repeat((i % 3) + 1)}`);

  async function createTask(app: TestApp, chunkTexts: string[], model = MODEL): Promise<number> {
    const created = await app
      .http()
      .post('/tasks')
      .send({ name: 'faults', model, chunks: chunkTexts.map((text) => ({ text })) })
      .expect(201);
    return created.body.id;
  }

  async function finished(app: TestApp, id: number) {
    return waitFor(async () => {
      const body = (await app.http().get(`/tasks/${id}`)).body;
      return ['completed', 'failed'].includes(body.status) ? body : undefined;
    }, 90_000);
  }

  /** Runs one task of `count` chunks (one of them `bad`) to its end; answers the task and its links. */
  async function runTask(app: TestApp, count: number, bad?: number) {
    const chunkTexts = texts(count, `run ${Date.now()}`).map((text, i) => (i === bad ? `${text} FORBIDDEN` : text));
    const created = { body: { id: await createTask(app, chunkTexts) } };
    const task = await finished(app, created.body.id);
    const links: { status: string; attempts: number; last_error: string | null; text: string; stored: number }[] =
      await app.app.get(DataSource).query(
        `SELECT l.status, l.attempts, l.last_error, c.text,
                (SELECT count(*)::int FROM mgmt.embedding e WHERE e.chunk_id = l.chunk_id AND e.model = $2) AS stored
         FROM mgmt.embed_task_chunk l JOIN mgmt.embed_chunk c ON c.id = l.chunk_id WHERE l.task_id = $1`,
        [created.body.id, MODEL],
      );
    return { task, links, chunkTexts };
  }

  /** Every chunk stored once, or (the bad one) failed with the server's message; no attempt spent on faults. */
  function expectSettled(run: Awaited<ReturnType<typeof runTask>>, bad?: number) {
    const badText = bad === undefined ? undefined : run.chunkTexts[bad];
    for (const link of run.links) {
      if (link.text === badText) {
        expect(link).toMatchObject({ status: 'failed', stored: 0 });
        expect(link.last_error).toMatch(
          /the remote answered 400: '\$\.input\[0\]' is invalid: it holds forbidden text/,
        );
      } else {
        expect(link).toMatchObject({ status: 'done', stored: 1, attempts: 1 });
        // Embedded once: refused and dropped requests embed nothing, so no token is paid twice.
        expect(server.stats.embedded.get(link.text)).toBe(1);
      }
    }
  }

  function budgetOf(app: TestApp) {
    return (app.app.get(EmbeddingService).model(MODEL) as OpenAiCompatibleModel).budgetSnapshot();
  }

  const faults = (more: FakeOpenAiFaults = {}): FakeOpenAiFaults => ({
    tokensPerMinute: TPM,
    badInput: 'FORBIDDEN',
    drops: 3,
    ...more,
  });

  it('with the budget configured: paces under the limit (a handful of 429s at most), isolates the bad input, survives drops', async () => {
    const app = await start(['max_inputs: 32', 'budget:', `  tokens_per_minute: ${TPM}`, '  concurrency: 4']);
    server.reset(faults());
    const run = await runTask(app, 300, 17);
    expect(run.task).toMatchObject({ status: 'failed', progress: { total: 300, done: 299, failed: 1 } });
    expectSettled(run, 17);
    expect(server.stats.statuses[429] ?? 0).toBeLessThanOrEqual(3);
    // The whole run stayed under the limit: accepted tokens over the time they took, plus the server's burst.
    const { accepted } = server.stats;
    const seconds = (accepted[accepted.length - 1].at - accepted[0].at) / 1000;
    expect(server.stats.acceptedTokens).toBeLessThanOrEqual((TPM / 60) * (seconds + 3) + 1000);
  });

  it('without a budget: learns the limit from the x-ratelimit headers; 429s fail nothing and cost no attempt', async () => {
    const app = await start(['max_inputs: 32']);
    server.reset(faults({ rateLimitHeaders: true }));
    const run = await runTask(app, 300, 5);
    expectSettled(run, 5);
    expect(budgetOf(app).tokensPerMinute).toBe(TPM);
  });

  it('without a budget or headers: the 429s and their Retry-After alone hold it back, and nothing fails for them', async () => {
    const app = await start(['max_inputs: 16', 'budget:', '  concurrency: 8']);
    server.reset(faults({ drops: 0, burstSeconds: 1 }));
    const run = await runTask(app, 200);
    expect(server.stats.statuses[429]).toBeGreaterThan(0);
    expect(run.task).toMatchObject({ status: 'completed', progress: { done: 200 } });
    expectSettled(run);
  });

  it('follows the remote when it lowers its limit while a task runs', async () => {
    const app = await start(['max_inputs: 16', 'budget:', `  tokens_per_minute: ${TPM}`]);
    server.reset(faults({ rateLimitHeaders: true, drops: 0, badInput: undefined }));
    const running = runTask(app, 300);
    await waitFor(async () => (server.stats.acceptedTokens > 2000 ? true : undefined), 30_000, 20);
    server.setTokensPerMinute(TPM / 2);
    const run = await running;
    expectSettled(run);
    expect(budgetOf(app)).toMatchObject({ tokensPerMinute: TPM / 2, lowered: 1 });
    expect(server.stats.statuses[429] ?? 0).toBeLessThanOrEqual(5);
  });

  it('a server that stays unavailable sends the chunks back for a later attempt, and they complete once it recovers', async () => {
    const app = await start(['max_inputs: 50', 'max_attempts: 2', 'retry_base_ms: 10']);
    server.reset({ unavailable: 4 });
    const run = await runTask(app, 100);
    expect(run.task).toMatchObject({ status: 'completed', progress: { done: 100 } });
    // Two requests of 50 each met two 503s (their two attempts), then the sender tried the batch again: an outage
    // of the back end is no failure of the chunks, so the retry used none of their attempts.
    expect(run.links.every((link) => link.status === 'done' && link.stored === 1)).toBe(true);
    expect(Math.max(...run.links.map((link) => link.attempts))).toBe(1);
    expect(server.stats.statuses[503]).toBe(4);
  });

  it('a local model’s task is not held up by a remote model’s batches waiting for their budget', async () => {
    const app = await start(['max_inputs: 16', 'budget:', `  tokens_per_minute: ${TPM / 20}`], {
      EMBEDDING_MODELS: `tiny=${await ensureModel('tiny')}`,
      SENDER_CONCURRENCY: '1',
      SENDER_SHUTDOWN_GRACE_MS: '500',
    });
    server.reset({});
    // 6,000 tokens a minute: the remote task's 300 chunks need about two minutes of budget.
    const remote = await createTask(app, texts(300, 'slow remote'));
    await waitFor(async () => (server.stats.requests > 1 ? true : undefined), 30_000, 20);
    const local = await createTask(app, texts(200, 'quick local'), 'tiny');
    expect(await finished(app, local)).toMatchObject({ status: 'completed', progress: { done: 200 } });
    const slow = (await app.http().get(`/tasks/${remote}`)).body;
    expect(slow.status).toBe('running');
    expect(slow.progress.done).toBeLessThan(300);
    await app.http().post(`/tasks/${remote}/cancel`).expect(200);
  });

  it('learns a smaller batch limit that the remote names, and keeps to it', async () => {
    const app = await start(['max_inputs: 32']);
    server.reset({ maxInputs: 8 });
    const run = await runTask(app, 100);
    expectSettled(run);
    // After the first refusals, every request holds at most 8 inputs: few 413s, not one per request.
    expect(server.stats.statuses[413]).toBeLessThanOrEqual(4);
  });

  it('a revoked key turns readiness down for that model only, and back up once a request succeeds', async () => {
    const app = await start(['max_inputs: 32', 'retry_base_ms: 10'], {
      EMBEDDING_MODELS: `tiny=${await ensureModel('tiny')}`,
      SENDER_RETRY_BASE_MS: '500',
    });
    server.reset({ unauthorized: true });
    const id = await createTask(app, texts(10, 'revoked'));
    const down = await waitFor(async () => {
      const answer = await app.http().get('/health/ready');
      return answer.status === 503 ? answer.body : undefined;
    });
    const models = down.details.embedding.models;
    expect(models.find((model: { id: string }) => model.id === 'tiny').error).toBeUndefined();
    expect(models.find((model: { id: string }) => model.id === MODEL).error).toMatch(
      /401: Incorrect API key provided \(check the API key: api_key_env or api_key_file\)/,
    );
    server.reset({});
    expect(await finished(app, id)).toMatchObject({ status: 'completed', progress: { done: 10 } });
    await app.http().get('/health/ready').expect(200);
  });
});
