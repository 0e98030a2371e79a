import packageJson from '../package.json';
import { InferenceSession } from 'onnxruntime-node';
import { allEmbedded, EmbeddingModel, EmbedOptions } from '../src/embedding/providers/embedding-model';
import { ensureModel } from './fixtures/model/make-model';
import { maxAbsDifference, openRawSession, rawTokenVectors } from './fixtures/model/reference-embeddings';
import { startTinyModelApp, TestApp } from './app';
import { EmbeddingService } from '../src/embedding/embedding.service';

// Each route of Text Embeddings Inference 1.9 (router/src/http/server.rs and types.rs at v1.9.3, commit 0667015),
// with TEI's request and response shapes, defaults, statuses and error bodies.

const NO_SENDER = { SENDER_ENABLED: 'false' };
/** 100 one-piece words: 102 tokens with [CLS] and [SEP], over the tiny model's 64, yet only 199 characters. */
const LONG_TEXT = Array.from({ length: 100 }, () => 'a').join(' ');
const TEXTS = ['The quick brown fox jumps over the lazy dog.', 'Embeddings are vectors.', 'hello'];
const TEI_ROUTES = [
  '/',
  '/invocations',
  '/embed',
  '/embed_all',
  '/embed_sparse',
  '/similarity',
  '/tokenize',
  '/decode',
];

const teiError = (error_type: string, error: string) => ({ error, error_type });

function cosine(a: number[], b: number[]): number {
  const dot = (x: number[], y: number[]) => x.reduce((total, value, index) => total + value * y[index], 0);
  return dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
}

describe('TEI-compatible routes (e2e)', () => {
  let t: TestApp;
  let provider: EmbeddingModel;
  let rawSession: InferenceSession;
  const post = (path: string, body: object) => t.http().post(path).send(body);
  const providerVectors = async (texts: string[], options: EmbedOptions = {}) =>
    allEmbedded(await provider.embed(texts, options)).map((vector) => Array.from(vector));
  const idsOf = async (text: string) =>
    (await post('/tokenize', { inputs: text }).expect(200)).body[0].map((token: { id: number }) => token.id);

  beforeAll(async () => {
    t = await startTinyModelApp({ EMBED_MAX_INPUTS: '5', EMBED_MAX_INPUT_CHARS: '1000', ...NO_SENDER });
    provider = t.app.get(EmbeddingService).model('tiny');
    rawSession = await openRawSession(await ensureModel('tiny'));
  });
  afterAll(async () => {
    await rawSession.release();
    await t.close();
  });

  describe('POST /embed', () => {
    it('answers one vector per input, normalised, also for a single string', async () => {
      const res = await post('/embed', { inputs: TEXTS }).expect(200);
      expect(res.body).toEqual(await providerVectors(TEXTS, { normalize: true }));
      expect((await post('/embed', { inputs: TEXTS[0] }).expect(200)).body).toEqual([res.body[0]]);
    });

    it('truncates by default (auto-truncate, as TEI 1.9), and passes normalize, prompt_name and dimensions', async () => {
      const res = await post('/embed', { inputs: [LONG_TEXT] }).expect(200);
      expect(res.body).toEqual(await providerVectors([LONG_TEXT], { truncate: true, normalize: true }));
      const body = { inputs: [LONG_TEXT], normalize: false, prompt_name: 'query', dimensions: 4 };
      const options = { normalize: false, promptName: 'query', dimensions: 4 };
      expect((await post('/embed', { ...body, truncation_direction: 'right' }).expect(200)).body).toEqual(
        await providerVectors([LONG_TEXT], options),
      );
    });

    it('takes null for absent, and ignores fields it does not know, as TEI does', async () => {
      const expected = (await post('/embed', { inputs: 'x' }).expect(200)).body;
      const body = { inputs: 'x', dimensions: null, truncate: null, prompt_name: null, pooling: 'cls', extra: {} };
      expect((await post('/embed', body).expect(200)).body).toEqual(expected);
    });

    it('embeds token ids as given: one id list, a batch of them, or mixed with texts', async () => {
      const ids = await idsOf('hello');
      const [hello] = (await post('/embed', { inputs: 'hello' }).expect(200)).body;
      expect((await post('/embed', { inputs: ids }).expect(200)).body).toEqual([hello]);
      expect((await post('/embed', { inputs: [ids, 'hello', ids] }).expect(200)).body).toEqual([hello, hello, hello]);
      // With a prompt, TEI decodes the ids and tokenises the prompted text again.
      const [prompted] = (await post('/embed', { inputs: 'hello', prompt_name: 'query' }).expect(200)).body;
      expect((await post('/embed', { inputs: [ids], prompt_name: 'query' }).expect(200)).body).toEqual([prompted]);
    });

    it.each([
      [{}, 422, teiError('Validation', 'inputs is required')],
      [{ inputs: [] }, 400, teiError('Empty', '`inputs` cannot be empty')],
      [{ inputs: ['a', ''] }, 400, teiError('Empty', 'Input validation error: `inputs` cannot be empty')],
      [{ inputs: ['a', []] }, 400, teiError('Empty', 'Input validation error: `inputs` cannot be empty')],
      [{ inputs: TEXTS.concat(TEXTS) }, 422, teiError('Validation', 'batch size 6 > maximum allowed batch size 5')],
      [
        { inputs: 'x'.repeat(1001) },
        422,
        teiError('Validation', 'Input validation error: inputs: at most 1000 characters; got 1001'),
      ],
      [
        { inputs: [LONG_TEXT], truncate: false },
        422,
        teiError('Validation', 'Input validation error: `inputs` must have less than 64 tokens. Given: 102'),
      ],
      [
        { inputs: 'x', truncation_direction: 'Left' },
        422,
        teiError('Validation', 'truncation_direction must be Right: Left truncation is not supported'),
      ],
      [{ inputs: ['a', 7] }, 422, teiError('Validation', 'inputs[1] must be a string or an array of token ids')],
      [
        { inputs: [2, -1, 3] },
        422,
        teiError('Validation', 'inputs[1] must be a token id (an integer from 0 to 4294967295)'),
      ],
      [
        { inputs: ['a', [2, 1024, 3]] },
        422,
        teiError(
          'Validation',
          'Input validation error: inputs[1]: token id 1024 is not in the vocabulary of model "tiny" (0 to 1023)',
        ),
      ],
      [
        { inputs: 'x', prompt_name: 'passage' },
        422,
        teiError(
          'Validation',
          'Input validation error: Model "tiny" has no prompt named "passage"; known: query, document',
        ),
      ],
      [
        { inputs: 'x', dimensions: 33 },
        422,
        teiError(
          'Validation',
          'Input validation error: dimensions must be an integer from 1 to 32 for model "tiny", got 33',
        ),
      ],
      [
        { inputs: 'x', model: 'nope' },
        404,
        teiError('Validation', 'Unknown embedding model "nope"; configured models: tiny'),
      ],
    ])('answers %j with %i and %j', async (body, status, expected) => {
      expect((await post('/embed', body).expect(status)).body).toEqual(expected);
    });
  });

  describe('POST / and POST /invocations', () => {
    it.each(['/', '/invocations'])(
      '%s embeds like /embed, or compares like /similarity when inputs is an object',
      async (path) => {
        const embed = { inputs: TEXTS, normalize: false };
        expect((await post(path, embed).expect(200)).body).toEqual((await post('/embed', embed).expect(200)).body);
        const similarity = { inputs: { source_sentence: TEXTS[0], sentences: TEXTS } };
        expect((await post(path, similarity).expect(200)).body).toEqual(
          (await post('/similarity', similarity).expect(200)).body,
        );
        expect((await post(path, { inputs: [] }).expect(400)).body).toEqual(
          teiError('Empty', '`inputs` cannot be empty'),
        );
      },
    );
  });

  describe('POST /similarity', () => {
    it('answers the cosine of the source sentence to each sentence, from unnormalised vectors', async () => {
      const res = await post('/similarity', { inputs: { source_sentence: TEXTS[0], sentences: TEXTS } }).expect(200);
      const vectors = await providerVectors(TEXTS, { normalize: false });
      expect(res.body).toHaveLength(3);
      res.body.forEach((value: number, index: number) =>
        expect(value).toBeCloseTo(cosine(vectors[0], vectors[index]), 6),
      );
      expect(res.body[0]).toBeCloseTo(1, 6);
    });

    it('passes parameters (truncate, prompt_name) and ignores unknown fields', async () => {
      const inputs = { source_sentence: LONG_TEXT, sentences: ['hello'] };
      const body = { inputs, parameters: { truncate: true, prompt_name: 'query', top_k: 3 }, options: {} };
      const [value] = (await post('/similarity', body).expect(200)).body;
      const vectors = await providerVectors([LONG_TEXT, 'hello'], { normalize: false, promptName: 'query' });
      expect(value).toBeCloseTo(cosine(vectors[0], vectors[1]), 6);
      await post('/similarity', { inputs, parameters: null }).expect(200);
    });

    it.each([
      [
        { inputs: { source_sentence: 'a', sentences: [] } },
        400,
        teiError('Empty', '`inputs.sentences` cannot be empty'),
      ],
      [
        { inputs: { source_sentence: 'a', sentences: ['b', 'c', 'd', 'e', 'f'] } },
        422,
        teiError('Validation', 'batch size 6 > maximum allowed batch size 5'),
      ],
      [
        { inputs: { source_sentence: 'a', sentences: ['b', ''] } },
        400,
        teiError('Empty', 'Input validation error: `inputs` cannot be empty'),
      ],
      [
        { inputs: { source_sentence: 'a', sentences: 'b' } },
        422,
        teiError('Validation', 'inputs.sentences must be an array of strings'),
      ],
      [
        { inputs: 'a' },
        422,
        teiError(
          'Validation',
          'inputs must be an object with source_sentence and sentences; nested property inputs must be either object or array',
        ),
      ],
      [{ inputs: [] }, 422, teiError('Validation', 'inputs must be an object with source_sentence and sentences')],
      [
        { inputs: { source_sentence: 'a', sentences: ['b'] }, parameters: [] },
        422,
        teiError('Validation', 'parameters must be an object'),
      ],
    ])('answers %j with %i and %j', async (body, status, expected) => {
      expect((await post('/similarity', body).expect(status)).body).toEqual(expected);
    });
  });

  describe('POST /embed_all', () => {
    it("answers every token's hidden state before pooling, as onnxruntime computes it", async () => {
      const ids = await idsOf(TEXTS[0]);
      const res = await post('/embed_all', { inputs: [TEXTS[0], 'hello'] }).expect(200);
      expect(res.body).toHaveLength(2);
      expect(res.body[0]).toHaveLength(ids.length);
      const expected = await rawTokenVectors(rawSession, ids);
      res.body[0].forEach((vector: number[], token: number) =>
        expect(maxAbsDifference(Float32Array.from(vector), expected[token])).toBeLessThan(1e-5),
      );
      expect((await post('/embed_all', { inputs: await idsOf('hello') }).expect(200)).body).toEqual([res.body[1]]);
    });

    it('truncates by default and refuses a long input with truncate false', async () => {
      expect((await post('/embed_all', { inputs: LONG_TEXT }).expect(200)).body[0]).toHaveLength(64);
      expect((await post('/embed_all', { inputs: LONG_TEXT, truncate: false }).expect(422)).body).toEqual(
        teiError('Validation', 'Input validation error: `inputs` must have less than 64 tokens. Given: 102'),
      );
    });
  });

  describe('POST /embed_sparse', () => {
    it("answers TEI's 424 for a model without a SPLADE head, after its input checks", async () => {
      expect((await post('/embed_sparse', { inputs: 'hello' }).expect(424)).body).toEqual(
        teiError(
          'Backend',
          'Backend error: Model is not an embedding model with SPLADE pooling ("tiny" pools with mean)',
        ),
      );
      expect((await post('/embed_sparse', { inputs: [] }).expect(400)).body.error_type).toBe('Empty');
    });
  });

  describe('POST /tokenize and POST /decode', () => {
    it('answers each token with its text and UTF-8 byte offsets; special tokens have none', async () => {
      const res = await post('/tokenize', { inputs: 'héllo wörld' }).expect(200);
      expect(res.body).toEqual([
        [
          { id: 2, text: '[CLS]', special: true, start: null, stop: null },
          { id: 150, text: 'hé', special: false, start: 0, stop: 3 },
          { id: 84, text: 'l', special: false, start: 3, stop: 4 },
          { id: 908, text: 'lo', special: false, start: 4, stop: 6 },
          expect.objectContaining({ text: 'wörld', special: false, start: 7, stop: 13 }),
          { id: 3, text: '[SEP]', special: true, start: null, stop: null },
        ],
      ]);
    });

    it('tokenises a batch, with the prompt and without special tokens when asked', async () => {
      const res = await post('/tokenize', { inputs: ['hello', 'x'], prompt_name: 'query', add_special_tokens: false });
      expect(res.status).toBe(200);
      expect(res.body.map((tokens: Array<{ text: string }>) => tokens.map((token) => token.text))).toEqual([
        ['query', ':', 'he', 'l', 'lo'],
        ['query', ':', 'x'],
      ]);
      expect(res.body[0][2]).toMatchObject({ start: 7, stop: 9 });
    });

    it('decodes ids back to text, without special tokens unless asked', async () => {
      const ids = await idsOf('hello world');
      expect((await post('/decode', { ids }).expect(200)).body).toEqual(['hello world']);
      expect((await post('/decode', { ids: [ids, [ids[1]]], skip_special_tokens: false }).expect(200)).body).toEqual([
        '[CLS] hello world [SEP]',
        'he',
      ]);
    });

    it.each([
      ['/tokenize', { inputs: [] }, 400, teiError('Empty', '`inputs` cannot be empty')],
      ['/tokenize', { inputs: ['a', ''] }, 400, teiError('Empty', 'Input validation error: `inputs` cannot be empty')],
      ['/tokenize', { inputs: [1, 2] }, 422, teiError('Validation', 'inputs[0] must be a string')],
      [
        '/tokenize',
        { inputs: TEXTS.concat(TEXTS) },
        422,
        teiError('Validation', 'batch size 6 > maximum allowed batch size 5'),
      ],
      ['/decode', { ids: [] }, 400, teiError('Empty', 'Input validation error: `ids` cannot be empty')],
      [
        '/decode',
        { ids: 'abc' },
        422,
        teiError('Validation', 'ids must be an array of token ids, or an array of such arrays'),
      ],
      [
        '/decode',
        { ids: [[2], [2, 4096]] },
        422,
        teiError(
          'Validation',
          'Input validation error: ids[1]: token id 4096 is not in the vocabulary of model "tiny" (0 to 1023)',
        ),
      ],
    ])('%s answers %j with %i and %j', async (path, body, status, expected) => {
      expect((await post(path, body).expect(status)).body).toEqual(expected);
    });
  });

  describe('GET /info, GET /health, GET / and GET /ping', () => {
    it('describes the first model, the limits and auto_truncate', async () => {
      expect((await t.http().get('/info').expect(200)).body).toEqual({
        model_id: 'tiny',
        model_sha: null,
        model_dtype: 'float32',
        model_type: { embedding: { pooling: 'mean' } },
        max_concurrent_requests: 512,
        max_input_length: 64,
        max_batch_tokens: 8192,
        max_batch_requests: 32,
        max_client_batch_size: 5,
        auto_truncate: true,
        tokenization_workers: expect.any(Number),
        version: packageJson.version,
        sha: null,
        docker_label: null,
      });
      expect((await t.http().get('/info?model=nope').expect(404)).body).toEqual(
        teiError('Validation', 'Unknown embedding model "nope"; configured models: tiny'),
      );
    });

    it.each(['/health', '/', '/ping'])('%s answers 200 with an empty body when the model is ready', async (path) => {
      expect((await t.http().get(path).expect(200)).text).toBe('');
    });
  });

  it.each(TEI_ROUTES)('%s answers a body that is not JSON with 400 in TEI’s body', async (path) => {
    const res = await t.http().post(path).set('content-type', 'application/json').send('{"inputs": ').expect(400);
    expect(res.body).toEqual(teiError('Validation', expect.stringContaining('Failed to parse the JSON request body')));
  });
});

describe('TEI-compatible routes with EMBED_AUTO_TRUNCATE=false and API_KEY set (e2e)', () => {
  let t: TestApp;
  const KEY = 'tei-key';

  beforeAll(async () => {
    t = await startTinyModelApp({ EMBED_AUTO_TRUNCATE: 'false', API_KEY: KEY, ...NO_SENDER });
  });
  afterAll(() => t.close());

  it('refuses a long input unless truncate is sent (TEI before 1.9), and says so in /info', async () => {
    const auth = { authorization: `Bearer ${KEY}` };
    expect((await t.http().get('/info').set(auth).expect(200)).body.auto_truncate).toBe(false);
    expect((await t.http().post('/embed').set(auth).send({ inputs: LONG_TEXT }).expect(422)).body).toEqual(
      teiError('Validation', 'Input validation error: `inputs` must have less than 64 tokens. Given: 102'),
    );
    await t.http().post('/embed').set(auth).send({ inputs: LONG_TEXT, truncate: true }).expect(200);
  });

  it('keeps the health routes open, like TEI, and the others behind the key in TEI’s body', async () => {
    for (const path of ['/health', '/', '/ping']) await t.http().get(path).expect(200);
    for (const path of ['/', '/embed', '/tokenize']) {
      const res = await t.http().post(path).send({ inputs: 'x' }).expect(401);
      expect(res.body).toEqual(
        teiError('Validation', 'API key required: send Authorization: Bearer <key> or x-api-key'),
      );
    }
  });
});
