import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { DataSource } from 'typeorm';
import { startTestApp, TestApp } from './app';
import { waitFor } from './wait';

/** GET /tasks/:id/embeddings: the stored vectors of a task as JSON lines, streamed a page at a time. */
describe('Task export (e2e)', () => {
  let t: TestApp;
  let sql: DataSource;
  let baseUrl: string;

  beforeAll(async () => {
    // One export at a time: a slot not given back would show as a 429 for the next.
    t = await startTestApp({ SENDER_ENABLED: 'false', TASK_EXPORT_MAX_CONCURRENT: '1' });
    baseUrl = await t.listen();
    sql = t.app.get(DataSource);
  });
  afterAll(() => t.close());

  async function createTask(texts: string[], model = 'm'): Promise<{ id: number; chunkIds: number[] }> {
    const created = await t
      .http()
      .post('/tasks')
      .send({ name: 'export', model, chunks: texts.map((text, i) => ({ text, metadata: { i } })) });
    const [{ ids }] = await sql.query(
      `SELECT array_agg(chunk_id ORDER BY id) AS ids FROM mgmt.embed_task_chunk WHERE task_id = $1`,
      [created.body.id],
    );
    return { id: created.body.id, chunkIds: ids.map(Number) };
  }

  /** Stores vectors through the built-in receiver, as a sender would. */
  async function store(model: string, items: { chunkId: number; text: string; vector: number[] }[]): Promise<void> {
    const res = await t
      .http()
      .post('/receiver/embeddings')
      .set('Idempotency-Key', `k-${Math.random()}`)
      .send({
        model,
        dimensions: items[0].vector.length,
        items: items.map((item) => ({
          chunk_id: item.chunkId,
          content_hash: createHash('sha256').update(item.text).digest('hex'),
          embedding: item.vector,
        })),
      });
    expect(res.body).toEqual({ stored: items.length });
  }

  const lines = (body: string) =>
    body
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));

  it('streams one line per stored vector, in the order the chunks were added, with the exact float32 values', async () => {
    const texts = ['first', 'sécond ✓ "quoted" \\ back', 'third', 'fourth\nline'];
    const { id, chunkIds } = await createTask(texts);
    const vectors = texts.map((_, i) => [
      Math.fround(0.1 * (i + 1)),
      Math.fround(-1 / 3),
      Math.fround(1e-7 * i),
      12345.678,
    ]);
    // Stored out of order, and the third chunk has none: it is left out.
    await store(
      'm',
      [3, 0, 1].map((i) => ({ chunkId: chunkIds[i], text: texts[i], vector: vectors[i] })),
    );
    const res = await t.http().get(`/tasks/${id}/embeddings`).expect(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    const records = lines(res.text);
    expect(records.map((record) => record.chunk_id)).toEqual([chunkIds[0], chunkIds[1], chunkIds[3]]);
    expect(records[0]).toEqual({
      chunk_id: chunkIds[0],
      text: 'first',
      metadata: { i: 0 },
      model: 'm',
      embedding: expect.any(Array),
    });
    expect(records.map((record) => record.text)).toEqual([texts[0], texts[1], texts[3]]);
    records.forEach((record, n) => {
      const expected = vectors[[0, 1, 3][n]];
      expect(record.embedding.map(Math.fround)).toEqual(expected.map(Math.fround));
    });
  });

  it('leaves out text and metadata on request, and exports another model given by name', async () => {
    const { id, chunkIds } = await createTask(['alpha']);
    await store('other', [{ chunkId: chunkIds[0], text: 'alpha', vector: [1, 2] }]);
    const res = await t.http().get(`/tasks/${id}/embeddings?model=other&text=false&metadata=false`).expect(200);
    expect(lines(res.text)).toEqual([{ chunk_id: chunkIds[0], model: 'other', embedding: [1, 2] }]);
    expect((await t.http().get(`/tasks/${id}/embeddings`).expect(200)).text).toBe('');
  });

  it('answers 404 for an unknown task and 400 for a bad flag', async () => {
    expect((await t.http().get('/tasks/999999/embeddings').expect(404)).body.message).toBe('task 999999 not found');
    const res = await t.http().get('/tasks/1/embeddings?text=yes').expect(400);
    expect(res.body).toMatchObject({
      message: 'text must be true or false',
      errors: [{ field: 'text', message: 'text must be true or false' }],
    });
  });

  it('stops reading and gives its connection back when the client goes away', async () => {
    const texts = Array.from({ length: 4000 }, (_, i) => `big ${i}`);
    const { id } = await createTask(texts, 'big');
    await sql.query(
      `INSERT INTO mgmt.embedding (chunk_id, model, dimensions, embedding, content_hash)
       SELECT c.id, 'big', 256, array_fill(0.123456::real, ARRAY[256]), c.content_hash
       FROM mgmt.embed_task_chunk l JOIN mgmt.embed_chunk c ON c.id = l.chunk_id WHERE l.task_id = $1`,
      [id],
    );
    // About 7 MB of lines: read the first bytes, then hang up.
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${baseUrl}/tasks/${id}/embeddings`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
      req.end();
    });
    // No session stays busy or in a transaction for the export.
    await waitFor(async () => {
      const [busy] = await sql.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`,
      );
      return busy.n === 0 ? true : undefined;
    });
    // Its slot comes back (the one export allowed here): the next export runs to the end.
    const again = await waitFor(async () => {
      const res = await t.http().get(`/tasks/${id}/embeddings?text=false&metadata=false`);
      return res.status === 200 ? res : undefined;
    });
    expect(lines(again.text)).toHaveLength(4000);
  });
});
