import { DataSource } from 'typeorm';
import { allEmbedded, EmbeddingModel } from '../src/embedding/providers/embedding-model';
import { EmbeddingService } from '../src/embedding/embedding.service';
import { ensureModel } from './fixtures/model/make-model';
import { TeiModel } from '../src/embedding/providers/remote/tei/tei-model';
import { startTestApp, TestApp } from './app';
import { waitFor } from './wait';

const MODEL = 'test/tiny';

/**
 * EMBEDDING_PROVIDER=tei against a real TEI-protocol peer: a second instance of this service serving the tiny model
 * through its TEI-compatible /info and /embed. The vectors must be the local ONNX provider's.
 */
describe('TEI provider against a TEI-compatible peer (e2e)', () => {
  let peer: TestApp;
  let peerUrl: string;
  let local: EmbeddingModel;
  let t: TestApp;
  let sql: DataSource;

  beforeAll(async () => {
    const model = await ensureModel('tiny');
    peer = await startTestApp({ EMBEDDING_MODELS: `${MODEL}=${model}`, SENDER_ENABLED: 'false' });
    peerUrl = await peer.listen();
    local = peer.app.get(EmbeddingService).model(MODEL);
    // Batches of 16, so one sender batch becomes several requests in flight at once.
    t = await startTestApp({
      EMBEDDING_PROVIDER: 'tei',
      TEI_URL: peerUrl,
      TEI_BATCH_SIZE: '16',
      SENDER_BATCH_SIZE: '64',
      SENDER_POLL_INTERVAL_MS: '200',
    });
    sql = t.app.get(DataSource);
  });
  afterAll(async () => {
    await t?.close();
    await peer?.close();
  });

  const texts = (n: number, prefix: string) =>
    Array.from({ length: n }, (_, i) => `${prefix} chunk ${i}: ${'lorem ipsum dolor '.repeat((i % 7) + 1)}`);

  function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>) {
    expect(actual.length).toBe(expected.length);
    for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThan(1e-5);
  }

  it("serves TEI's model, described from /info and a warm-up /embed, with the window derived from /info", () => {
    const embeddings = t.app.get(EmbeddingService);
    const provider = embeddings.model(MODEL) as TeiModel;
    const info = provider.info();
    expect(embeddings.readyModels()).toEqual([MODEL]);
    expect(info).toMatchObject({
      id: MODEL,
      dimensions: local.info().dimensions,
      maxTokens: 64,
      device: 'remote',
    });
    // This service's /info reports max_concurrent_requests 512: 512 / 16 per request.
    expect(provider.window()).toMatchObject({ size: 32, max: 32, inFlight: 0 });
  });

  it('stores, for a task run through the TEI provider, the vectors the local ONNX provider computes', async () => {
    const chunkTexts = texts(300, 'tei');
    const created = await t
      .http()
      .post('/tasks')
      .send({ name: 'through tei', model: MODEL, chunks: chunkTexts.map((text) => ({ text })) })
      .expect(201);
    const task = await waitFor(async () => {
      const body = (await t.http().get(`/tasks/${created.body.id}`)).body;
      return ['completed', 'failed'].includes(body.status) ? body : undefined;
    }, 30_000);
    expect(task).toMatchObject({ status: 'completed', progress: { total: 300, done: 300, failed: 0 } });
    const rows: { text: string; embedding: number[]; n: number }[] = await sql.query(
      `SELECT c.text, e.embedding, count(*) OVER (PARTITION BY e.chunk_id)::int AS n
       FROM mgmt.embed_task_chunk l JOIN mgmt.embed_chunk c ON c.id = l.chunk_id
       JOIN mgmt.embedding e ON e.chunk_id = l.chunk_id AND e.model = $2
       WHERE l.task_id = $1`,
      [created.body.id, MODEL],
    );
    expect(rows).toHaveLength(300);
    expect(rows.every((row) => row.n === 1)).toBe(true);
    const expected = allEmbedded(await local.embed(rows.map((row) => row.text)));
    rows.forEach((row, i) => expectClose(row.embedding, expected[i]));
  });

  it("answers this service's own embedding routes through TEI, with the local vectors", async () => {
    const single = await t.http().post('/embeddings/single').send({ text: 'a single chunk' }).expect(200);
    expect(single.body.model).toBe(MODEL);
    expectClose(single.body.embedding, allEmbedded(await local.embed(['a single chunk']))[0]);
    const info = await t.http().get('/info').expect(200);
    expect(info.body.model_id).toBe(MODEL);
  });

  it("forwards token ids, token-level vectors, tokenizing and decoding to TEI's routes", async () => {
    const both = async (path: string, body: object) => {
      const [through, direct] = await Promise.all([t.http().post(path).send(body), peer.http().post(path).send(body)]);
      expect([through.status, direct.status]).toEqual([200, 200]);
      return [through.body, direct.body];
    };
    const [tokens, peerTokens] = await both('/tokenize', { inputs: ['hello world', 'x'], prompt_name: 'query' });
    expect(tokens).toEqual(peerTokens);
    const ids = tokens[0].map((token: { id: number }) => token.id);
    const [decoded, peerDecoded] = await both('/decode', { ids: [ids, [ids[2]]] });
    expect(decoded).toEqual(peerDecoded);
    const [vectors, peerVectors] = await both('/v1/embeddings', { model: MODEL, input: [ids, ids.slice(1)] });
    vectors.data.forEach((item: { embedding: number[] }, i: number) =>
      expectClose(item.embedding, peerVectors.data[i].embedding),
    );
    const [all, peerAll] = await both('/embed_all', { inputs: ['hello', ids] });
    expect(all.map((input: number[][]) => input.length)).toEqual([5, ids.length]);
    all.forEach((input: number[][], i: number) =>
      input.forEach((vector, token) => expectClose(vector, peerAll[i][token])),
    );
  });

  it('refuses to start when EMBEDDING_MODELS names another model than TEI serves, naming both', async () => {
    const start = startTestApp({ EMBEDDING_PROVIDER: 'tei', TEI_URL: peerUrl, EMBEDDING_MODELS: 'test/other' });
    await expect(start).rejects.toThrow(
      /EMBEDDING_MODELS names "test\/other" but the TEI server at .* serves "test\/tiny"/,
    );
  });

  it('starts when EMBEDDING_MODELS names the model TEI serves', async () => {
    const matching = await startTestApp({ EMBEDDING_PROVIDER: 'tei', TEI_URL: peerUrl, EMBEDDING_MODELS: MODEL });
    try {
      expect(matching.app.get(EmbeddingService).readyModels()).toEqual([MODEL]);
    } finally {
      await matching.close();
    }
  });

  it("includes TEI's GET /health in readiness: ready while TEI answers, 503 naming TEI when it does not", async () => {
    const ready = await t.http().get('/health/ready').expect(200);
    expect(ready.body.details.embedding).toMatchObject({ status: 'up', models: [{ id: MODEL, device: 'remote' }] });
    await peer.app.close();
    const down = await t.http().get('/health/ready').expect(503);
    expect(down.body.details.embedding.message).toMatch(
      /TEI at http:\/\/127\.0\.0\.1:\d+ is not healthy \(GET \/health\)/,
    );
  });
});
