import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { encodeFloat32Base64 } from '../src/common/float32-base64';
import { startTestApp, TestApp } from './app';

describe('Built-in receiver (e2e)', () => {
  let t: TestApp;
  let sql: DataSource;
  let chunks: { id: number; hash: string }[];

  beforeAll(async () => {
    t = await startTestApp({ SENDER_ENABLED: 'false' });
    sql = t.app.get(DataSource);
    const task = await t.http().post('/tasks').send({ name: 'r', model: 'm', chunks: ['one', 'two', 'three', 'four', 'five'].map((text) => ({ text })) });
    const list = await t.http().get(`/tasks/${task.body.id}/chunks`);
    chunks = list.body.items.map((item: { chunkId: number; text: string }) => ({
      id: item.chunkId,
      hash: createHash('sha256').update(item.text).digest('hex'),
    }));
  });
  afterAll(() => t.close());

  const post = (body: object) => t.http().post('/receiver/embeddings').set('Idempotency-Key', 'k1').send(body);
  const item = (i: number, embedding: unknown) => ({ chunk_id: chunks[i].id, content_hash: chunks[i].hash, embedding });
  const rowCount = async () => (await sql.query(`SELECT count(*)::int AS n FROM mgmt.embedding`))[0].n;

  it('stores vectors given as arrays or base64, and a repeated batch stores once', async () => {
    const batch = {
      task_id: 1,
      model: 'm3',
      dimensions: 3,
      items: [item(0, [0.5, -0.25, 1]), item(1, encodeFloat32Base64(Float32Array.from([1, 2, 3])))],
    };
    expect((await post(batch).expect(200)).body).toEqual({ stored: 2 });
    await post(batch).expect(200);
    const rows = await sql.query(`SELECT chunk_id, embedding, dimensions FROM mgmt.embedding WHERE model = 'm3' ORDER BY chunk_id`);
    expect(rows).toEqual([
      { chunk_id: chunks[0].id, embedding: [0.5, -0.25, 1], dimensions: 3 },
      { chunk_id: chunks[1].id, embedding: [1, 2, 3], dimensions: 3 },
    ]);
  });

  it('serves a stored vector through GET /chunks/:id/embedding', async () => {
    const res = await t.http().get(`/chunks/${chunks[0].id}/embedding?model=m3`).expect(200);
    expect(res.body).toMatchObject({ chunk_id: chunks[0].id, model: 'm3', dimensions: 3, embedding: [0.5, -0.25, 1] });
    await t.http().get(`/chunks/${chunks[0].id}/embedding?model=other`).expect(404);
    await t.http().get(`/chunks/999999/embedding`).expect(404);
  });

  it('refuses bad items with 422, naming each, and stores nothing of the batch', async () => {
    const before = await rowCount();
    const res = await post({
      model: 'm4',
      dimensions: 2,
      items: [
        item(0, [1, 2]),
        item(1, [1, 2, 3]),
        { chunk_id: 987654, content_hash: chunks[0].hash, embedding: [1, 2] },
        item(2, [1e39, 0]),
        { ...item(3, [1, 2]), content_hash: 'a'.repeat(64) },
        item(4, 'not base64!'),
      ],
    }).expect(422);
    expect(res.body.items).toEqual([
      { index: 1, chunk_id: chunks[1].id, message: 'embedding has 3 values; dimensions is 2' },
      { index: 2, chunk_id: 987654, message: 'unknown chunk id' },
      { index: 3, chunk_id: chunks[2].id, message: 'embedding[0] is Infinity; values must be finite' },
      { index: 4, chunk_id: chunks[3].id, message: "content_hash does not match the chunk's text (was it edited?)" },
      { index: 5, chunk_id: chunks[4].id, message: 'embedding must be an array of numbers or base64 of little-endian float32 values' },
    ]);
    expect(res.body.message).toContain(`items[2] (chunk 987654): unknown chunk id`);
    expect(await rowCount()).toBe(before);
  });

  it('refuses a dimension count that differs from the vectors already stored for the model', async () => {
    const res = await post({ model: 'm3', dimensions: 2, items: [item(0, [1, 2])] }).expect(422);
    expect(res.body.items[0].message).toBe("this model's stored vectors have 3 dimensions, not 2");
  });

  it('answers 400 naming malformed fields', async () => {
    const res = await post({ dimensions: 0, items: [{ chunk_id: 'x', content_hash: 'short' }] }).expect(400);
    expect(res.body.errors.map((error: { message: string }) => error.message)).toEqual(
      expect.arrayContaining([
        'model is required',
        'dimensions must be an integer from 1 to 65536',
        'items.0.chunk_id must be an integer from 1 to 9007199254740991',
        'items.0.content_hash must be 64 lowercase hex characters',
        'items.0.embedding is required',
      ]),
    );
    await post({ model: 'm', dimensions: 2, items: [] }).expect(400);
  });
});
