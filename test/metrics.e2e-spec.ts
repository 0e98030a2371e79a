import { createHash } from 'node:crypto';
import { startAppWithTestReceiver, startTestApp, TestApp } from './app';
import { EmbeddingService } from '../src/embedding/embedding.service';
import { Scrape } from './metrics';
import { TestReceiver } from './processes';
import { waitFor } from './wait';

const FAMILIES = [
  'embedding_tasks_chunks_claimed_total',
  'embedding_tasks_chunks_embedded_total',
  'embedding_tasks_chunks_delivered_total',
  'embedding_tasks_chunks_failed_total',
  'embedding_tasks_chunks_retried_total',
  'embedding_tasks_batch_size_chunks',
  'embedding_tasks_inference_padded_tokens',
  'embedding_tasks_stage_duration_seconds',
  'embedding_tasks_queue_depth',
  'embedding_tasks_open_tasks_without_worker',
  'embedding_tasks_leases_reclaimed_total',
  'embedding_tasks_receiver_errors_total',
  'embedding_tasks_tei_errors_total',
  'embedding_tasks_remote_errors_total',
  'embedding_tasks_tokens_total',
  'embedding_tasks_cost_total',
  'embedding_tasks_http_requests_total',
  'embedding_tasks_http_request_duration_seconds',
  // Two of Node's default process metrics, under the same prefix.
  'embedding_tasks_process_cpu_seconds_total',
  'embedding_tasks_nodejs_heap_size_used_bytes',
];

const scrape = async (t: TestApp) => {
  const response = await t.http().get('/metrics').expect(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Scrape(response.text);
};

/**
 * GET /metrics of the real app: the sender delivers over HTTP to a test receiver that forwards to this app's built-in
 * receiver, so a delivery can be refused.
 */
describe('Metrics (e2e)', () => {
  let t: TestApp;
  let receiver: TestReceiver;
  let first: Scrape;

  beforeAll(async () => {
    ({ t, receiver } = await startAppWithTestReceiver({
      SENDER_BATCH_SIZE: '8',
      SENDER_POLL_INTERVAL_MS: '100',
      SENDER_RETRY_BASE_MS: '20',
    }));
    first = await scrape(t);
  });
  afterAll(() => t.close());

  const settled = (id: number) =>
    waitFor(async () => {
      const task = (await t.http().get(`/tasks/${id}`)).body;
      return ['completed', 'failed'].includes(task.status) ? task : undefined;
    }, 30_000);

  async function runTask(name: string, texts: string[]) {
    const chunks = texts.map((text) => ({ text }));
    const created = await t.http().post('/tasks').send({ name, model: 'tiny', chunks }).expect(201);
    return settled(created.body.id);
  }

  it('lists every metric family from start-up, with the served model and the queue at zero', () => {
    expect([...first.families]).toEqual(expect.arrayContaining(FAMILIES));
    for (const name of ['claimed', 'embedded', 'delivered']) {
      expect(first.value(`embedding_tasks_chunks_${name}_total`, { model: 'tiny' })).toBe(0);
    }
    for (const reason of ['embedding', 'receiver_rejected', 'remote', 'attempts_exhausted']) {
      expect(first.value('embedding_tasks_chunks_failed_total', { model: 'tiny', reason })).toBe(0);
    }
    expect(first.value('embedding_tasks_chunks_retried_total', { model: 'tiny', reason: 'transient' })).toBe(0);
    expect(first.value('embedding_tasks_batch_size_chunks_count', { model: 'tiny' })).toBe(0);
    expect(first.value('embedding_tasks_leases_reclaimed_total')).toBe(0);
    for (const kind of ['embedded', 'saved', 'unused']) {
      expect(first.value('embedding_tasks_tokens_total', { model: 'tiny', kind })).toBe(0);
    }
    for (const status of ['pending', 'in_progress', 'done', 'failed']) {
      expect(first.value('embedding_tasks_queue_depth', { status })).toBe(0);
    }
    // The warm-up inference is not counted; the claim stage may already have polled.
    expect(first.value('embedding_tasks_stage_duration_seconds_count', { stage: 'inference' })).toBe(0);
    expect(first.value('embedding_tasks_stage_duration_seconds_count', { stage: 'delivery' })).toBe(0);
  });

  it('counts a task through the pipeline: claimed, embedded and delivered once per chunk, the queue done', async () => {
    const texts = Array.from({ length: 20 }, (_, i) => `metrics chunk ${i}: ${'lorem ipsum '.repeat(i + 1)}`);
    expect((await runTask('counted', texts)).status).toBe('completed');
    const after = await scrape(t);
    for (const name of ['claimed', 'embedded', 'delivered']) {
      expect(after.value(`embedding_tasks_chunks_${name}_total`, { model: 'tiny' })).toBe(20);
    }
    expect(after.value('embedding_tasks_batch_size_chunks_sum', { model: 'tiny' })).toBe(20);
    expect(after.value('embedding_tasks_batch_size_chunks_count', { model: 'tiny' })).toBeGreaterThanOrEqual(3);
    expect(after.value('embedding_tasks_inference_padded_tokens_count', { model: 'tiny' })).toBeGreaterThan(0);
    for (const stage of ['claim', 'tokenize', 'inference', 'delivery', 'settle']) {
      expect(after.value('embedding_tasks_stage_duration_seconds_count', { stage })).toBeGreaterThan(0);
    }
    // Claims that found nothing are counted apart, so `claim` times only claims that took work.
    const claims = after.value('embedding_tasks_stage_duration_seconds_count', { stage: 'claim' });
    expect(claims).toBe(after.value('embedding_tasks_batch_size_chunks_count', { model: 'tiny' }));
    expect(after.value('embedding_tasks_queue_depth', { status: 'done' })).toBe(20);
    expect(after.value('embedding_tasks_queue_depth', { status: 'pending' })).toBe(0);
    // Exactly the model's token counts of the 20 texts, each charged once.
    const counts = await t.app.get(EmbeddingService).countTokens('tiny', texts);
    const tokens = counts.reduce((sum, count) => sum + count, 0);
    expect(after.value('embedding_tasks_tokens_total', { model: 'tiny', kind: 'embedded' })).toBe(tokens);
    expect(after.value('embedding_tasks_tokens_total', { model: 'tiny', kind: 'saved' })).toBe(0);
    expect(after.value('embedding_tasks_queue_depth', { status: 'in_progress' })).toBe(0);
  });

  it('counts a delivery the receiver refuses: failed (receiver_rejected) and a receiver error 422', async () => {
    const before = await scrape(t);
    const failed = (s: Scrape) =>
      s.value('embedding_tasks_chunks_failed_total', { model: 'tiny', reason: 'receiver_rejected' });
    receiver.behaviour = { rejectContentHash: createHash('sha256').update('refuse me').digest('hex') };
    const task = await runTask('refused', ['keep me', 'refuse me', 'keep me too']);
    receiver.behaviour = {};
    expect(task).toMatchObject({ status: 'failed', progress: { done: 2, failed: 1 } });
    const after = await scrape(t);
    expect(failed(after)! - failed(before)!).toBe(1);
    expect(after.value('embedding_tasks_receiver_errors_total', { status: '422' })).toBeGreaterThanOrEqual(1);
    expect(after.value('embedding_tasks_chunks_delivered_total', { model: 'tiny' })).toBe(22);
    expect(after.value('embedding_tasks_queue_depth', { status: 'failed' })).toBe(1);
    // The refused chunk's vector was computed for nothing.
    const [refused] = (await t.app.get(EmbeddingService).countTokens('tiny', ['refuse me']));
    const unused = (s: Scrape) => s.value('embedding_tasks_tokens_total', { model: 'tiny', kind: 'unused' })!;
    expect(unused(after) - unused(before)).toBe(refused);
  });

  it('labels HTTP requests by route template, an unknown path as unmatched', async () => {
    const id = (
      await t
        .http()
        .post('/tasks')
        .send({ name: 'http', model: 'tiny', chunks: [{ text: 'h' }] })
    ).body.id;
    await t.http().get(`/tasks/${id}`).expect(200);
    await t.http().get(`/tasks/${id}`).expect(200);
    await t.http().get('/tasks/999999').expect(404);
    await t.http().get('/no/such/path').expect(404);
    const after = await scrape(t);
    const requests = (route: string, status_code: string) =>
      after.value('embedding_tasks_http_requests_total', { method: 'GET', route, status_code });
    expect(requests('/tasks/:id', '200')).toBeGreaterThanOrEqual(2);
    expect(requests('/tasks/:id', '404')).toBe(1);
    expect(requests('unmatched', '404')).toBe(1);
    expect(requests('/metrics', '200')).toBeGreaterThanOrEqual(1);
    const routes = after.series('embedding_tasks_http_requests_total').map((series) => series.labels.route);
    expect(routes.filter((route) => /\d/.test(route))).toEqual([]);
    expect(
      after.value('embedding_tasks_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/tasks',
        status_code: '201',
      }),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('Metrics with API_KEY set (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ API_KEY: 'secret' });
  });
  afterAll(() => t.close());

  it('serves /metrics without the key, and counts refused requests by route template', async () => {
    await t.http().get('/tasks/17').expect(401);
    const metrics = await scrape(t);
    expect(
      metrics.value('embedding_tasks_http_requests_total', { method: 'GET', route: '/tasks/:id', status_code: '401' }),
    ).toBe(1);
  });

  it('keeps a registry of its own: nothing of the other app in this process shows', async () => {
    const metrics = await scrape(t);
    expect(metrics.series('embedding_tasks_chunks_claimed_total')).toEqual([]);
    expect(metrics.value('embedding_tasks_queue_depth', { status: 'done' })).toBe(0);
  });
});
