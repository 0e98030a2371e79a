import { allEmbedded } from '../src/embedding/providers/embedding-model';
import { OnnxModel } from '../src/embedding/providers/onnx/onnx-model';
import { startTinyModelApp, TestApp } from './app';
import { ensureModel } from './fixtures/model/make-model';
import { waitFor } from './wait';
import { cosine } from '../src/common/cosine';

const TEXTS = ['The quick brown fox jumps over the lazy dog.', 'Embeddings are vectors.', 'hello'];

/** The app serving the generated model's int8 file (EMBEDDING_MODEL_FILE), through every path a model takes. */
describe('An int8 model (model_quantized.onnx) served end to end (e2e)', () => {
  let t: TestApp;
  let fp32: OnnxModel;

  beforeAll(async () => {
    t = await startTinyModelApp({ EMBEDDING_MODEL_FILE: 'model_quantized.onnx' });
    fp32 = new OnnxModel({ id: 'tiny', path: await ensureModel('tiny') });
    await fp32.load();
  });
  afterAll(async () => {
    await fp32.close();
    await t.close();
  });

  it('says so in GET /info: model_dtype int8, read from the graph', async () => {
    expect((await t.http().get('/info').expect(200)).body).toMatchObject({ model_id: 'tiny', model_dtype: 'int8' });
  });

  it('answers /v1/embeddings with int8 vectors close to the fp32 model’s', async () => {
    const res = await t.http().post('/v1/embeddings').send({ model: 'tiny', input: TEXTS }).expect(200);
    const reference = allEmbedded(await fp32.embed(TEXTS));
    res.body.data.forEach(({ embedding }: { embedding: number[] }, index: number) => {
      expect(cosine(embedding, reference[index])).toBeGreaterThan(0.999);
      expect(embedding).not.toEqual(Array.from(reference[index]));
    });
  });

  it('embeds a task through the sender and stores the int8 model’s vectors', async () => {
    const chunks = TEXTS.map((text) => ({ text }));
    const created = await t.http().post('/tasks').send({ name: 'int8', model: 'tiny', chunks }).expect(201);
    await waitFor(async () => {
      const task = (await t.http().get(`/tasks/${created.body.id}`)).body;
      return task.status === 'completed' ? task : undefined;
    });
    const lines = (await t.http().get(`/tasks/${created.body.id}/embeddings`).expect(200)).text.trim().split('\n');
    const single = await t.http().post('/embeddings/single').send({ text: TEXTS[0] }).expect(200);
    const first = JSON.parse(lines[0]) as { text: string; embedding: number[] };
    expect(first.text).toBe(TEXTS[0]);
    // Not bit-equal: dynamic quantisation scales activations per batch, so a text's vector moves a little with the
    // texts (and padding) it is batched with.
    expect(cosine(first.embedding, single.body.embedding)).toBeGreaterThan(0.9999);
  });
});
