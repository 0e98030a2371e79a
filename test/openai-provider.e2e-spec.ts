import { cpSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { allEmbedded } from '../src/embedding/providers/embedding-model';
import { ensureModel } from './fixtures/model/make-model';
import { startTestApp, TestApp } from './app';
import { Scrape } from './metrics';
import { waitFor } from './wait';
import { cosine as cosineOf } from '../src/common/cosine';
import { EmbeddingService } from '../src/embedding/embedding.service';

const REMOTE = 'remote-tiny';
const LOCAL = 'tiny';
const TEI = 'tei-tiny';
const VARIANT = 'tiny-variant';

/**
 * A models-file entry with `backend: openai` against a real OpenAI-compatible server: a second instance of this
 * service serving the tiny model at /v1/embeddings. The instance under test serves the same model locally too
 * (EMBEDDING_MODELS), through the peer's TEI-compatible API (`backend: tei`) and from another ONNX file of a copy of
 * its folder (`backend: onnx` with `file`), so one instance serves the one model from every kind of back end.
 */
describe('OpenAI-compatible provider against a second instance of this service (e2e)', () => {
  let peer: TestApp;
  let t: TestApp;
  let sql: DataSource;
  let dir: string;

  beforeAll(async () => {
    const model = await ensureModel('tiny');
    peer = await startTestApp({ EMBEDDING_MODELS: `test/tiny=${model}`, SENDER_ENABLED: 'false' });
    const peerUrl = await peer.listen();
    dir = mkdtempSync(join(tmpdir(), 'openai-provider-'));
    // A copy whose only ONNX file has another name: it loads only if the entry's `file` is followed.
    cpSync(model, join(dir, 'variant'), { recursive: true });
    renameSync(join(dir, 'variant/onnx/model.onnx'), join(dir, 'variant/onnx/model_variant.onnx'));
    const modelsFile = join(dir, 'models.yaml');
    writeFileSync(
      modelsFile,
      [
        'models:',
        `  - id: ${REMOTE}`,
        '    backend: openai',
        `    url: ${peerUrl}/v1`,
        '    model: test/tiny',
        `    tokenizer: ${model}`,
        // The peer's limit: it truncates longer texts, so counts before sending stop there too.
        '    max_input_tokens: 64',
        '    max_inputs: 16',
        '    price_per_million_tokens: 0.5',
        `  - id: ${TEI}`,
        '    backend: tei',
        `    url: ${peerUrl}`,
        '    model: test/tiny',
        `  - id: ${VARIANT}`,
        '    backend: onnx',
        '    source: ./variant',
        '    file: onnx/model_variant.onnx',
      ].join('\n'),
    );
    t = await startTestApp({
      EMBEDDING_MODELS: `${LOCAL}=${model}`,
      EMBEDDING_MODELS_FILE: modelsFile,
      SENDER_BATCH_SIZE: '64',
      SENDER_POLL_INTERVAL_MS: '200',
    });
    sql = t.app.get(DataSource);
  });
  afterAll(async () => {
    await t?.close();
    await peer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const texts = (n: number, prefix: string) =>
    Array.from({ length: n }, (_, i) => `${prefix} chunk ${i}: ${'lorem ipsum dolor '.repeat((i % 7) + 1)}`);

  async function createTask(model: string, chunkTexts: string[]): Promise<number> {
    const created = await t
      .http()
      .post('/tasks')
      .send({ name: `on ${model}`, model, chunks: chunkTexts.map((text) => ({ text })) })
      .expect(201);
    return created.body.id;
  }

  async function finished(id: number) {
    return waitFor(async () => {
      const body = (await t.http().get(`/tasks/${id}`)).body;
      return ['completed', 'failed'].includes(body.status) ? body : undefined;
    }, 60_000);
  }

  /** What the texts cost, each once: the tiny model's own counts (what the peer reports as usage). */
  async function tokensOf(chunkTexts: string[]): Promise<number> {
    const counts = await t.app.get(EmbeddingService).countTokens(LOCAL, chunkTexts);
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /** The requests the peer answered at /v1/embeddings, from its own metrics. */
  async function peerRequests(): Promise<number> {
    const scrape = new Scrape((await peer.http().get('/metrics')).text);
    return scrape
      .series('embedding_tasks_http_requests_total')
      .filter(({ labels }) => labels.route === '/v1/embeddings')
      .reduce((total, { value }) => total + value, 0);
  }

  async function storedVectors(taskId: number, model: string) {
    const rows: { text: string; embedding: number[]; n: number }[] = await sql.query(
      `SELECT c.text, e.embedding, count(*) OVER (PARTITION BY e.chunk_id)::int AS n
       FROM mgmt.embed_task_chunk l JOIN mgmt.embed_chunk c ON c.id = l.chunk_id
       JOIN mgmt.embedding e ON e.chunk_id = l.chunk_id AND e.model = $2
       WHERE l.task_id = $1 ORDER BY l.id`,
      [taskId, model],
    );
    return rows;
  }

  it('serves the model from every back end, readiness listing each', async () => {
    const ready = await t.http().get('/health/ready').expect(200);
    expect(ready.body.details.embedding.models).toEqual([
      expect.objectContaining({ id: LOCAL, warmedUp: true, device: 'cpu' }),
      expect.objectContaining({ id: REMOTE, warmedUp: true, device: 'remote' }),
      expect.objectContaining({ id: TEI, warmedUp: true, device: 'remote' }),
      expect.objectContaining({ id: VARIANT, warmedUp: true, device: 'cpu' }),
    ]);
    const models = await t.http().get('/v1/models').expect(200);
    expect(models.body.data.map((model: { id: string }) => model.id)).toEqual([LOCAL, REMOTE, TEI, VARIANT]);
  });

  it('completes a task on the TEI and the ONNX-file entries too, with the same vectors', async () => {
    const [tei, variant] = await Promise.all([
      createTask(TEI, texts(50, 'tei')),
      createTask(VARIANT, texts(50, 'tei')),
    ]);
    expect(await finished(tei)).toMatchObject({ status: 'completed', progress: { done: 50 } });
    expect(await finished(variant)).toMatchObject({ status: 'completed', progress: { done: 50 } });
    const [teiRows, variantRows] = [await storedVectors(tei, TEI), await storedVectors(variant, VARIANT)];
    expect(teiRows).toHaveLength(50);
    teiRows.forEach((row, i) =>
      expect(cosine(row.embedding, variantRows[i].embedding)).toBeGreaterThanOrEqual(0.99999),
    );
  });

  it('stores, for a task on the remote model, the vectors local ONNX computes for the same texts', async () => {
    const before = await peerRequests();
    const id = await createTask(REMOTE, texts(300, 'remote'));
    expect(await finished(id)).toMatchObject({ status: 'completed', progress: { total: 300, done: 300, failed: 0 } });
    // 300 texts, at most 16 per request (the warm-up request came before).
    expect((await peerRequests()) - before).toBeGreaterThanOrEqual(19);
    const rows = await storedVectors(id, REMOTE);
    expect(rows).toHaveLength(300);
    expect(rows.every((row) => row.n === 1)).toBe(true);
    const local = allEmbedded(
      await t.app
        .get(EmbeddingService)
        .model(LOCAL)
        .embed(rows.map((row) => row.text)),
    );
    rows.forEach((row, i) => expect(cosine(row.embedding, local[i])).toBeGreaterThanOrEqual(0.99999));
    // The remote's usage, apportioned by the same tokenizer, gives each text its own count; at 0.5 per million.
    const tokens = await tokensOf(rows.map((row) => row.text));
    const task = (await t.http().get(`/tasks/${id}`).expect(200)).body;
    expect(task.usage).toEqual({ tokens, savedTokens: 0, cost: (tokens * 0.5) / 1e6 });
    const scrape = new Scrape((await t.http().get('/metrics')).text);
    expect(scrape.value('embedding_tasks_tokens_total', { model: REMOTE, kind: 'embedded' })).toBe(tokens);
    expect(scrape.value('embedding_tasks_cost_total', { model: REMOTE })).toBeCloseTo((tokens * 0.5) / 1e6, 12);
  });

  it('counts what reuse saved: a text already stored, or twice in a task, costs nothing again', async () => {
    const old = texts(10, 'reused');
    const fresh = texts(5, 'fresh');
    const first = await createTask(REMOTE, old);
    expect((await finished(first)).usage).toEqual({
      tokens: await tokensOf(old),
      savedTokens: 0,
      cost: ((await tokensOf(old)) * 0.5) / 1e6,
    });
    // The old texts again (stored: reused), the fresh ones twice each (embedded once, shared).
    const second = await createTask(REMOTE, [...old, ...fresh, ...fresh]);
    expect((await finished(second)).usage).toEqual({
      tokens: await tokensOf(fresh),
      savedTokens: (await tokensOf(old)) + (await tokensOf(fresh)),
      cost: ((await tokensOf(fresh)) * 0.5) / 1e6,
    });
    // A model with no price has no cost.
    const local = await createTask(LOCAL, fresh);
    expect((await finished(local)).usage).toEqual({ tokens: await tokensOf(fresh), savedTokens: 0, cost: null });
  });

  it('completes two tasks at once, one on the local model and one on the remote one', async () => {
    const [local, remote] = await Promise.all([
      createTask(LOCAL, texts(200, 'both')),
      createTask(REMOTE, texts(200, 'both')),
    ]);
    const [a, b] = await Promise.all([finished(local), finished(remote)]);
    expect(a).toMatchObject({ status: 'completed', progress: { done: 200 } });
    expect(b).toMatchObject({ status: 'completed', progress: { done: 200 } });
    const [localRows, remoteRows] = [await storedVectors(local, LOCAL), await storedVectors(remote, REMOTE)];
    localRows.forEach((row, i) =>
      expect(cosine(row.embedding, remoteRows[i].embedding)).toBeGreaterThanOrEqual(0.99999),
    );
  });

  it('answers this instance’s own embedding routes for the remote model, with the remote’s usage', async () => {
    const answer = await t
      .http()
      .post('/v1/embeddings')
      .send({ model: REMOTE, input: ['one text', 'and another one'] })
      .expect(200);
    const local = await t
      .http()
      .post('/v1/embeddings')
      .send({ model: LOCAL, input: ['one text', 'and another one'] });
    expect(answer.body.usage).toEqual(local.body.usage);
    answer.body.data.forEach((item: { embedding: number[] }, i: number) =>
      expect(cosine(item.embedding, local.body.data[i].embedding)).toBeGreaterThanOrEqual(0.99999),
    );
    const single = await t
      .http()
      .post('/embeddings/single')
      .send({ model: REMOTE, text: 'x', dimensions: 8 })
      .expect(200);
    expect(single.body.dimensions).toBe(8);
    const prompt = await t.http().post('/embeddings/single').send({ model: REMOTE, text: 'x', prompt: 'query: ' });
    expect(prompt.status).toBe(400);
    expect(prompt.body.message).toMatch(/OpenAI-compatible API, which takes no prompts/);
  });

  it('refuses a task for a model served nowhere here, listing both', async () => {
    const refused = await t
      .http()
      .post('/tasks')
      .send({ name: 'x', model: 'other', chunks: [{ text: 'a' }] });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toContain(`served models: ${LOCAL}, ${REMOTE}, ${TEI}, ${VARIANT}`);
  });
});

/** Vectors of one model: the same length, then the same direction. */
function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(b.length).toBe(a.length);
  return cosineOf(a, b);
}
