import OpenAI from 'openai';
import { EmbeddingModel } from '../src/embedding/providers/embedding-model';
import { startTinyModelApp, TestApp } from './app';
import { EmbeddingService } from '../src/embedding/embedding.service';

/** These tests call the endpoints only; the background sender would just add work and timers. */
const NO_SENDER = { SENDER_ENABLED: 'false' };

const TEXTS = ['The quick brown fox jumps over the lazy dog.', 'Embeddings are vectors.'];

/** Serves the app on a loopback port, for clients that need a URL rather than supertest. */
async function listen(t: TestApp): Promise<string> {
  return `${await t.listen()}/v1`;
}

function decodeBase64(encoded: string): number[] {
  const bytes = Buffer.from(encoded, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, index) => bytes.readFloatLE(index * 4));
}

describe('OpenAI-compatible POST /v1/embeddings (e2e)', () => {
  let t: TestApp;
  let client: OpenAI;
  let baseURL: string;
  let provider: EmbeddingModel;
  const create = (body: object) => t.http().post('/v1/embeddings').send(body);
  const single = async (text: string) =>
    (await t.http().post('/embeddings/single').send({ text }).expect(200)).body.embedding as number[];

  beforeAll(async () => {
    t = await startTinyModelApp({
      EMBED_MAX_INPUTS: '5',
      EMBED_MAX_INPUT_CHARS: '1000',
      ...NO_SENDER,
    });
    baseURL = await listen(t);
    client = new OpenAI({ baseURL, apiKey: 'x', maxRetries: 0 });
    provider = t.app.get(EmbeddingService).model('tiny');
  });
  afterAll(() => t.close());

  it("answers OpenAI's body with float vectors equal to /embeddings/single, and the token usage", async () => {
    const res = await create({ input: TEXTS, model: 'tiny', user: 'someone' }).expect(200);
    const { tokenCounts } = await provider.embed(TEXTS);
    const tokens = tokenCounts!.reduce((total, count) => total + count, 0);
    expect(res.body).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: await single(TEXTS[0]) },
        { object: 'embedding', index: 1, embedding: await single(TEXTS[1]) },
      ],
      model: 'tiny',
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  });

  it('encodes base64 as little-endian float32 bytes of the same numbers', async () => {
    const float = await create({ input: TEXTS[0], model: 'tiny', encoding_format: 'float' }).expect(200);
    const base64 = await create({ input: TEXTS[0], model: 'tiny', encoding_format: 'base64' }).expect(200);
    expect(typeof base64.body.data[0].embedding).toBe('string');
    expect(decodeBase64(base64.body.data[0].embedding)).toEqual(float.body.data[0].embedding);
  });

  it("works with OpenAI's SDK, as float and as its default base64, giving the same vectors", async () => {
    const asFloat = await client.embeddings.create({ model: 'tiny', input: TEXTS, encoding_format: 'float' });
    const asDefault = await client.embeddings.create({ model: 'tiny', input: TEXTS });
    const expected = [await single(TEXTS[0]), await single(TEXTS[1])];
    expect(asFloat.data.map((item) => item.embedding)).toEqual(expected);
    expect(asDefault.data.map((item) => Array.from(item.embedding))).toEqual(expected);
    expect(asDefault.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('embeds token ids, one list or several, like the text they encode; usage counts the ids', async () => {
    const tokens = (await t.http().post('/tokenize').send({ inputs: TEXTS }).expect(200)).body;
    const ids: number[][] = tokens.map((list: Array<{ id: number }>) => list.map((token) => token.id));
    const expected = [await single(TEXTS[0]), await single(TEXTS[1])];
    const batch = await client.embeddings.create({ model: 'tiny', input: ids, encoding_format: 'float' });
    expect(batch.data.map((item) => item.embedding)).toEqual(expected);
    expect(batch.usage.prompt_tokens).toBe(ids[0].length + ids[1].length);
    const one = await client.embeddings.create({ model: 'tiny', input: ids[1], encoding_format: 'float' });
    expect(one.data.map((item) => item.embedding)).toEqual([expected[1]]);
  });

  it('takes dimensions: null as absent', async () => {
    const res = await create({ input: 'hello', model: 'tiny', dimensions: null }).expect(200);
    expect(res.body.data[0].embedding).toEqual(await single('hello'));
  });

  it("answers a body that is not JSON in OpenAI's error body", async () => {
    const res = await t.http().post('/v1/embeddings').set('content-type', 'application/json').send('{"input": ');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: {
        message: expect.stringMatching(/^We could not parse the JSON body of your request: /),
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });
  });

  it('serves the same route at /embeddings, as TEI does, for clients given the bare base URL', async () => {
    const bare = new OpenAI({ baseURL: baseURL.replace(/\/v1$/, ''), apiKey: 'x', maxRetries: 0 });
    const res = await bare.embeddings.create({ model: 'tiny', input: TEXTS[0], encoding_format: 'float' });
    expect(res.data[0].embedding).toEqual(await single(TEXTS[0]));
  });

  it('lists and retrieves the served models, and answers an unknown one with 404 in OpenAI’s body', async () => {
    const listed = [];
    for await (const model of client.models.list()) listed.push(model);
    const tiny = { id: 'tiny', object: 'model', created: expect.any(Number), owned_by: 'embedding-tasks' };
    expect(listed).toEqual([tiny]);
    expect(await client.models.retrieve('tiny')).toEqual(tiny);
    await expect(client.models.retrieve('owner/nope')).rejects.toMatchObject({
      status: 404,
      type: 'invalid_request_error',
      code: 'model_not_found',
      param: 'model',
      message: expect.stringContaining('Unknown embedding model "owner/nope"; configured models: tiny'),
    });
    const raw = await t.http().get('/v1/models/owner/nope').expect(404);
    expect(raw.body.error.code).toBe('model_not_found');
  });

  it('cuts vectors to the requested dimensions, re-normalised', async () => {
    const res = await client.embeddings.create({
      model: 'tiny',
      input: 'hello',
      dimensions: 8,
      encoding_format: 'float',
    });
    expect(res.data[0].embedding).toHaveLength(8);
    expect(Math.hypot(...res.data[0].embedding)).toBeCloseTo(1, 5);
  });

  it("reports errors to the SDK with OpenAI's status, type, code and param", async () => {
    await expect(client.embeddings.create({ model: 'nope', input: 'x' })).rejects.toMatchObject({
      status: 404,
      type: 'invalid_request_error',
      code: 'model_not_found',
      param: 'model',
      message: expect.stringContaining('Unknown embedding model "nope"; configured models: tiny'),
    });
  });

  const invalid = (message: string, param: string | null, code: string | null = null) => ({
    error: { message, type: 'invalid_request_error', param, code },
  });

  it.each([
    [
      { input: [2, -1, 3], model: 'tiny' },
      400,
      invalid('input[1] must be a token id (an integer from 0 to 4294967295)', 'input'),
    ],
    [{ input: [[1, 2], 'a'], model: 'tiny' }, 400, invalid('input[1] must be an array of token ids', 'input')],
    [
      { input: [[2, 1024]], model: 'tiny' },
      400,
      invalid('input[0]: token id 1024 is not in the vocabulary of model "tiny" (0 to 1023)', 'input'),
    ],
    [{ input: [[2, 3], []], model: 'tiny' }, 400, invalid('input[1] must not be empty', 'input')],
    [{ input: ['a', 7], model: 'tiny' }, 400, invalid('input[1] must be a string', 'input')],
    [
      { input: { text: 'a' }, model: 'tiny' },
      400,
      invalid('input must be a string, an array of strings, or token ids', 'input'),
    ],
    [{ input: 'x', model: 'tiny', extra: 1 }, 400, invalid('property extra should not exist', null)],
    [{ input: 'x' }, 400, invalid('model is required', 'model')],
    [{ model: 'tiny' }, 400, invalid('input is required', 'input')],
    [
      { input: 'x', model: 'tiny', encoding_format: 'hex' },
      400,
      invalid('encoding_format must be one of: float, base64', 'encoding_format'),
    ],
    [{ input: [], model: 'tiny' }, 400, invalid('input must hold at least one text', 'input')],
    [{ input: ['a', ''], model: 'tiny' }, 400, invalid('input[1] must not be empty', 'input')],
    [
      { input: 'x', model: 'tiny', dimensions: 64 },
      400,
      invalid('dimensions must be an integer from 1 to 32 for model "tiny", got 64', 'dimensions'),
    ],
    [
      { input: ['a', 'b', 'c', 'd', 'e', 'f'], model: 'tiny' },
      413,
      invalid('input: at most 5 inputs per request; got 6', 'input', 'request_too_large'),
    ],
    [
      { input: ['a', 'x'.repeat(1001)], model: 'tiny' },
      413,
      invalid('input[1]: at most 1000 characters; got 1001', 'input', 'request_too_large'),
    ],
    [
      { input: 'x', model: 'nope' },
      404,
      invalid('Unknown embedding model "nope"; configured models: tiny', 'model', 'model_not_found'),
    ],
  ])('answers %j with %i and %j', async (body, status, expected) => {
    expect((await create(body).expect(status)).body).toEqual(expected);
  });
});

describe('OpenAI-compatible route with API_KEY set (e2e)', () => {
  let t: TestApp;
  let baseURL: string;

  beforeAll(async () => {
    t = await startTinyModelApp({ API_KEY: 'secret-key', ...NO_SENDER });
    baseURL = await listen(t);
  });
  afterAll(() => t.close());

  it("answers 401 in OpenAI's body without the key, and serves the SDK with it", async () => {
    const res = await t.http().post('/v1/embeddings').send({ input: 'x', model: 'tiny' }).expect(401);
    expect(res.body).toEqual({
      error: {
        message: 'API key required: send Authorization: Bearer <key> or x-api-key',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    });
    const wrong = new OpenAI({ baseURL, apiKey: 'wrong', maxRetries: 0 });
    await expect(wrong.embeddings.create({ model: 'tiny', input: 'x' })).rejects.toMatchObject({
      status: 401,
      code: 'invalid_api_key',
    });
    const right = new OpenAI({ baseURL, apiKey: 'secret-key', maxRetries: 0 });
    expect((await right.embeddings.create({ model: 'tiny', input: 'x' })).data).toHaveLength(1);
  });
});
