import { allEmbedded, EmbeddingModel } from '../src/embedding/providers/embedding-model';
import { startTestApp, startTinyModelApp, TestApp } from './app';
import { EmbeddingService } from '../src/embedding/embedding.service';

/** These tests call the endpoints only; the background sender would just add work and timers. */
const NO_SENDER = { SENDER_ENABLED: 'false' };

/** 100 one-piece words: 102 tokens with [CLS] and [SEP], over the tiny model's 64, yet only 199 characters. */
const LONG_TEXT = Array.from({ length: 100 }, () => 'a').join(' ');
const TEXTS = ['The quick brown fox jumps over the lazy dog.', 'Embeddings are vectors.', 'hello'];

describe('Embedding endpoints (e2e)', () => {
  let t: TestApp;
  let provider: EmbeddingModel;
  const post = (path: string, body: object) => t.http().post(path).send(body);
  const single = async (body: object) => (await post('/embeddings/single', body).expect(200)).body.embedding;
  const providerVectors = async (texts: string[], options = {}) =>
    allEmbedded(await provider.embed(texts, options)).map((vector) => Array.from(vector));

  beforeAll(async () => {
    t = await startTinyModelApp({
      EMBED_MAX_INPUTS: '5',
      EMBED_MAX_INPUT_CHARS: '1000',
      ...NO_SENDER,
    });
    provider = t.app.get(EmbeddingService).model('tiny');
  });
  afterAll(() => t.close());

  describe('POST /embeddings/single', () => {
    it("answers the provider's vector, with the first model by default", async () => {
      const res = await post('/embeddings/single', { text: TEXTS[0] }).expect(200);
      expect(res.body).toEqual({ model: 'tiny', dimensions: 32, embedding: (await providerVectors([TEXTS[0]]))[0] });
    });

    it('passes normalize, truncate, prompt_name, prompt and dimensions to the model', async () => {
      const options = { normalize: false, truncate: true, prompt_name: 'query', dimensions: 8 };
      const expected = await providerVectors([LONG_TEXT], { normalize: false, promptName: 'query', dimensions: 8 });
      expect(await single({ text: LONG_TEXT, model: 'tiny', ...options })).toEqual(expected[0]);
      expect(await single({ text: 'x', prompt: 'query: ' })).toEqual(await single({ text: 'x', prompt_name: 'query' }));
      expect(await single({ text: 'x', prompt: 'query: ' })).not.toEqual(await single({ text: 'x' }));
    });

    it('takes dimensions: null as absent, as the OpenAI and TEI routes do', async () => {
      expect(await single({ text: 'x', dimensions: null })).toEqual(await single({ text: 'x' }));
    });

    it.each([
      [{ text: '' }, 400, 'text must not be empty'],
      [{ text: 5 }, 400, 'text must be a string'],
      [{}, 400, 'text is required'],
      [{ text: 'x', model: 'nope' }, 404, 'Unknown embedding model "nope"; configured models: tiny'],
      [{ text: 'x'.repeat(1001) }, 413, 'text: at most 1000 characters; got 1001'],
      [
        { text: LONG_TEXT, truncate: false },
        400,
        'text is 102 tokens long, over the 64-token limit of model "tiny" (set truncate to true to cut it)',
      ],
      [
        { text: 'x', prompt_name: 'passage' },
        400,
        'Model "tiny" has no prompt named "passage"; known: query, document',
      ],
      [{ text: 'x', prompt: 'a', prompt_name: 'query' }, 400, 'Give either prompt or prompt_name, not both'],
      [{ text: 'x', dimensions: 33 }, 400, 'dimensions must be an integer from 1 to 32 for model "tiny", got 33'],
      [{ text: 'x', normalize: 'yes' }, 400, 'normalize must be true or false'],
    ])('answers %j with %i: %j', async (body, status, message) => {
      const res = await post('/embeddings/single', body).expect(status);
      expect(res.body).toMatchObject({ statusCode: status, message });
    });
  });

  describe('POST /embeddings/batch', () => {
    it('answers every chunk in order, each equal to /embeddings/single, with the task id', async () => {
      const chunks = TEXTS.map((text, index) => ({ id: index === 1 ? 'b' : index + 10, text }));
      const res = await post('/embeddings/batch', { task_id: 7, chunks, prompt_name: 'query' }).expect(200);
      const expected = await providerVectors(TEXTS, { promptName: 'query' });
      expect(res.body).toEqual({
        model: 'tiny',
        dimensions: 32,
        task_id: 7,
        items: chunks.map(({ id }, index) => ({ id, status: 'embedded', embedding: expected[index] })),
      });
      expect(res.body.items[2].embedding).toEqual(await single({ text: TEXTS[2], prompt_name: 'query' }));
    });

    it.each([
      [{ chunks: [] }, 400, 'chunks must hold at least one text'],
      [{ chunks: 'x' }, 400, expect.stringContaining('chunks must be an array')],
      [{ chunks: [{ id: 1, text: 5 }] }, 400, 'chunks.0.text must be a string'],
      [{ chunks: [{ id: 1 }] }, 400, 'chunks.0.text is required'],
      [{ chunks: [{ id: 1.5, text: 'a' }] }, 400, 'chunks.0.id must be an integer or a string of 1 to 200 characters'],
      [
        {
          chunks: [
            { id: 1, text: 'a' },
            { id: 2, text: '' },
          ],
        },
        400,
        'chunks[1].text must not be empty',
      ],
      [
        {
          chunks: [
            { id: 1, text: 'a' },
            { id: 1, text: 'b' },
          ],
        },
        400,
        'chunks[1].id: 1 is used twice',
      ],
      [
        { chunks: TEXTS.concat(TEXTS).map((text, id) => ({ id, text })) },
        413,
        'chunks: at most 5 inputs per request; got 6',
      ],
      [{ chunks: [{ id: 1, text: 'x'.repeat(1001) }] }, 413, 'chunks[0].text: at most 1000 characters; got 1001'],
      [
        {
          chunks: [
            { id: 1, text: 'a' },
            { id: 2, text: LONG_TEXT },
          ],
          truncate: false,
        },
        400,
        'chunks[1].text is 102 tokens long, over the 64-token limit of model "tiny" (set truncate to true to cut it)',
      ],
      [
        { chunks: [{ id: 1, text: 'a' }], model: 'nope' },
        404,
        'Unknown embedding model "nope"; configured models: tiny',
      ],
    ])('answers %j with %i: %j', async (body, status, message) => {
      expect((await post('/embeddings/batch', body).expect(status)).body).toMatchObject({
        statusCode: status,
        message,
      });
    });
  });

  describe('POST /tasks on an instance serving models', () => {
    it('refuses a model it does not serve, naming the served ones', async () => {
      const res = await post('/tasks', { name: 'n', model: 'other', chunks: [{ text: 'x' }] }).expect(400);
      expect(res.body.message).toBe('model: "other" is not served by this service; served models: tiny');
      await post('/tasks', { name: 'n', model: 'tiny', chunks: [{ text: 'x' }] }).expect(201);
    });
  });

  describe('OpenAPI document', () => {
    it('describes the embedding routes, their tags and error bodies', async () => {
      const doc = (await t.http().get('/apidocs-json').expect(200)).body;
      const route = (path: string, method: string) => doc.paths[path][method];
      expect(route('/embeddings/single', 'post').tags).toEqual(['embeddings']);
      expect(route('/embeddings/batch', 'post').tags).toEqual(['embeddings']);
      expect(route('/v1/embeddings', 'post').tags).toEqual(['openai']);
      for (const path of ['/embed', '/embed_all', '/embed_sparse', '/similarity', '/tokenize', '/decode', '/']) {
        expect(route(path, 'post').tags).toEqual(['tei']);
      }
      expect(route('/invocations', 'post').tags).toEqual(['tei']);
      expect(route('/info', 'get').tags).toEqual(['tei']);
      expect(route('/embeddings', 'post').tags).toEqual(['openai']);
      expect(route('/v1/models/{id}', 'get').tags).toEqual(['openai']);
      expect(Object.keys(route('/embeddings/single', 'post').responses)).toEqual(
        expect.arrayContaining(['200', '400', '401', '404', '413', '503']),
      );
      const openAi404 = route('/v1/embeddings', 'post').responses['404'].content['application/json'].schema;
      expect(openAi404.$ref).toBe('#/components/schemas/OpenAiErrorResponseDto');
      const tei422 = route('/embed', 'post').responses['422'].content['application/json'].schema;
      expect(tei422.$ref).toBe('#/components/schemas/TeiErrorResponseDto');
      expect(route('/embed', 'post').requestBody.content['application/json'].schema.$ref).toBe(
        '#/components/schemas/TeiEmbedRequestDto',
      );
      expect(doc.components.schemas).toHaveProperty('TeiInfoDto');
      expect(doc.components.schemas).toHaveProperty('BatchResponseDto');
    });
  });
});

describe('Embedding endpoints without a configured model (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(NO_SENDER);
  });
  afterAll(() => t.close());

  it('answers 503 on every embedding route, each in its own body', async () => {
    const message = 'No embedding model is configured on this instance (EMBEDDING_MODELS is empty)';
    const single = await t.http().post('/embeddings/single').send({ text: 'x' }).expect(503);
    expect(single.body).toEqual({ statusCode: 503, message, error: 'Service Unavailable' });
    await t
      .http()
      .post('/embeddings/batch')
      .send({ chunks: [{ id: 1, text: 'x' }] })
      .expect(503);
    const openAi = await t.http().post('/v1/embeddings').send({ input: 'x', model: 'm' }).expect(503);
    expect(openAi.body).toEqual({ error: { message, type: 'server_error', param: null, code: 'model_not_ready' } });
    const tei = await t.http().post('/embed').send({ inputs: 'x' }).expect(503);
    expect(tei.body).toEqual({ error: message, error_type: 'Unhealthy' });
    expect((await t.http().get('/info').expect(503)).body).toEqual({ error: message, error_type: 'Unhealthy' });
    expect((await t.http().get('/').expect(503)).body).toEqual({ error: message, error_type: 'Unhealthy' });
    const tokenize = await t.http().post('/tokenize').send({ inputs: 'x' }).expect(503);
    expect(tokenize.body).toEqual({ error: message, error_type: 'Unhealthy' });
  });

  it('accepts tasks for any model (an API-only instance)', async () => {
    await t
      .http()
      .post('/tasks')
      .send({ name: 'n', model: 'any/model', chunks: [{ text: 'x' }] })
      .expect(201);
  });
});
