import { DataSource } from 'typeorm';
import { ensureModel } from './fixtures/model/make-model';
import { allEmbedded, EmbeddingModel } from '../src/embedding/providers/embedding-model';
import { startTestApp, TestApp } from './app';
import { waitFor } from './wait';
import { EmbeddingService } from '../src/embedding/embedding.service';

/** The whole pipeline in one process: work goes in (REST or SQL), every chunk comes out as one stored vector. */
describe('Pipeline (e2e)', () => {
  let t: TestApp;
  let sql: DataSource;
  let provider: EmbeddingModel;

  beforeAll(async () => {
    const model = await ensureModel('tiny');
    t = await startTestApp({
      EMBEDDING_MODELS: `tiny=${model}`,
      SENDER_BATCH_SIZE: '32',
      SENDER_POLL_INTERVAL_MS: '200',
    });
    sql = t.app.get(DataSource);
    provider = t.app.get(EmbeddingService).model('tiny');
  });
  afterAll(() => t.close());

  const texts = (n: number, prefix: string) =>
    Array.from({ length: n }, (_, i) => `${prefix} chunk ${i}: ${'lorem ipsum dolor '.repeat((i % 9) + 1)}`);

  async function finished(taskId: number) {
    return waitFor(async () => {
      const task = (await t.http().get(`/tasks/${taskId}`)).body;
      return ['completed', 'failed'].includes(task.status) ? task : undefined;
    }, 30_000);
  }

  async function expectStoredOncePerChunk(taskId: number, chunkTexts: string[]) {
    const rows: { text: string; embedding: number[]; n: number }[] = await sql.query(
      `SELECT c.text, e.embedding, count(*) OVER (PARTITION BY e.chunk_id)::int AS n
       FROM mgmt.embed_task_chunk l JOIN mgmt.embed_chunk c ON c.id = l.chunk_id
       JOIN mgmt.embedding e ON e.chunk_id = l.chunk_id AND e.model = 'tiny'
       WHERE l.task_id = $1`,
      [taskId],
    );
    expect(rows).toHaveLength(chunkTexts.length);
    expect(rows.every((row) => row.n === 1)).toBe(true);
    const expected = allEmbedded(await provider.embed(rows.map((row) => row.text)));
    rows.forEach((row, i) => row.embedding.forEach((value, j) => expect(value).toBeCloseTo(expected[i][j], 6)));
  }

  it('completes a task made through REST, with one stored vector per chunk', async () => {
    const chunkTexts = texts(300, 'rest');
    const created = await t
      .http()
      .post('/tasks')
      .send({ name: 'rest', model: 'tiny', chunks: chunkTexts.map((text) => ({ text })) })
      .expect(201);
    const task = await finished(created.body.id);
    expect(task).toMatchObject({ status: 'completed', progress: { total: 300, done: 300, failed: 0, percent: 100 } });
    expect(task.startedAt).not.toBeNull();
    expect(task.finishedAt).not.toBeNull();
    await expectStoredOncePerChunk(created.body.id, chunkTexts);
  });

  it('completes a task inserted with plain SQL, woken by NOTIFY', async () => {
    const chunkTexts = texts(200, 'sql');
    const [task] = await sql.query(`INSERT INTO mgmt.task (name, model) VALUES ('sql', 'tiny') RETURNING id`);
    await sql.query(
      `WITH c AS (INSERT INTO mgmt.embed_chunk (text) SELECT unnest($2::text[]) RETURNING id)
       INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) SELECT $1, id FROM c`,
      [task.id, chunkTexts],
    );
    expect((await finished(task.id)).status).toBe('completed');
    await expectStoredOncePerChunk(task.id, chunkTexts);
    const drift = await t.http().get('/tasks/counts/drift').expect(200);
    expect(drift.body.drifted).toEqual([]);
  });

  it('serves the stored vector, equal to POST /embeddings/single on the same text', async () => {
    const created = await t
      .http()
      .post('/tasks')
      .send({ name: 'one', model: 'tiny', chunks: [{ text: 'a single chunk' }] });
    await finished(created.body.id);
    const chunks = await t.http().get(`/tasks/${created.body.id}/chunks`).expect(200);
    const stored = await t.http().get(`/chunks/${chunks.body.items[0].chunkId}/embedding?model=tiny`).expect(200);
    const single = await t
      .http()
      .post('/embeddings/single')
      .send({ text: 'a single chunk', model: 'tiny' })
      .expect(200);
    const reference: number[] = single.body.embedding;
    expect(stored.body.dimensions).toBe(reference.length);
    stored.body.embedding.forEach((value: number, i: number) => expect(value).toBeCloseTo(reference[i], 6));
  });

  it('does not embed again a text already stored for the model (content-hash reuse), yet completes', async () => {
    const embed = jest.spyOn(provider, 'embed');
    const created = await t
      .http()
      .post('/tasks')
      .send({ name: 'again', model: 'tiny', chunks: [{ text: 'a single chunk' }] });
    expect((await finished(created.body.id)).status).toBe('completed');
    expect(embed).not.toHaveBeenCalled();
    embed.mockRestore();
  });
});
