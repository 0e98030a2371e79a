import { MemoryBudget } from '../src/common/memory-budget';
import { startTinyModelApp, TestApp } from './app';

// HTTP_RESPONSE_LIMIT and HTTP_MEMORY_BUDGET on every embedding and tokenizer route, in each dialect's error shape.
// The tiny model: 32 dimensions, 64 tokens at most; an answer is sized before any work at about 24 bytes a number.

/** 100 one-piece words: over the tiny model's 64 tokens, so each is cut to 64 token vectors. */
const LONG_TEXT = Array.from({ length: 100 }, () => 'a').join(' ');
const many = <T>(count: number, value: T): T[] => Array.from({ length: count }, () => value);

describe('answer budgets (e2e)', () => {
  let t: TestApp;
  const post = (path: string, body: object) => t.http().post(path).send(body);

  beforeAll(async () => {
    t = await startTinyModelApp({ HTTP_RESPONSE_LIMIT: '4mb', EMBED_MAX_INPUTS: '8192', SENDER_ENABLED: 'false' });
  });
  afterAll(() => t.close());

  describe('an answer over HTTP_RESPONSE_LIMIT is refused before any work, naming the limit', () => {
    const namesLimit = expect.stringMatching(/over HTTP_RESPONSE_LIMIT \(4\.0 MB\)/);

    it('TEI /embed_all: 422 Validation', async () => {
      // 100 inputs x 64 token vectors x 32 numbers: about 5 MB.
      const res = await post('/embed_all', { inputs: many(100, LONG_TEXT) }).expect(422);
      expect(res.body).toEqual({ error: namesLimit, error_type: 'Validation' });
    });

    it("TEI /tokenize: 422 Validation for issue 20's 2,048 inputs of 7.8K characters", async () => {
      const text = 'hello world '.repeat(650);
      expect(text.length).toBe(7800);
      const res = await post('/tokenize', { inputs: many(2048, text) }).expect(422);
      expect(res.body).toEqual({ error: namesLimit, error_type: 'Validation' });
    });

    it('TEI /decode and /embed: 422 Validation', async () => {
      const decode = await post('/decode', { ids: many(8192, many(30, 101)) }).expect(422);
      expect(decode.body).toEqual({ error: namesLimit, error_type: 'Validation' });
      const embed = await post('/embed', { inputs: many(8192, 'hello') }).expect(422);
      expect(embed.body).toEqual({ error: namesLimit, error_type: 'Validation' });
    });

    it("OpenAI /v1/embeddings: 413 in OpenAI's error body", async () => {
      const res = await post('/v1/embeddings', { model: 'tiny', input: many(8192, 'hello') }).expect(413);
      expect(res.body).toEqual({
        error: { message: namesLimit, type: 'invalid_request_error', param: null, code: 'response_too_large' },
      });
    });

    it("native /embeddings/batch: 413 in the service's own body", async () => {
      const chunks = Array.from({ length: 8192 }, (_, id) => ({ id, text: 'hello' }));
      const res = await post('/embeddings/batch', { chunks }).expect(413);
      expect(res.body).toEqual({ statusCode: 413, error: 'Payload Too Large', message: namesLimit });
    });

    it('a request within the limit is answered as before: base64 is sized at its own, smaller cost', async () => {
      // 8,192 float vectors would be over the limit (above); as base64 they are about 1.9 MB.
      const res = await post('/v1/embeddings', {
        model: 'tiny',
        input: many(8192, 'hello'),
        encoding_format: 'base64',
      }).expect(200);
      expect(res.body.data).toHaveLength(8192);
      expect(Buffer.from(res.body.data[8191].embedding as string, 'base64')).toHaveLength(32 * 4);
    });
  });

  it('sends an answer over 1 MB in slices, exactly the JSON of the same answers sent whole', async () => {
    // 40 x 64 x 32 numbers: sized at about 2 MB, under the limit but over the size sent in slices.
    const texts = Array.from({ length: 40 }, (_, index) => `${LONG_TEXT} ${index}`);
    const res = await post('/embed_all', { inputs: texts }).expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['content-length']).toBeUndefined();
    const whole = await Promise.all(
      texts.slice(0, 3).map(async (text) => (await post('/embed_all', { inputs: text })).body),
    );
    expect(res.body).toHaveLength(40);
    expect(res.body.slice(0, 3)).toEqual(whole.map((answer: number[][][]) => answer[0]));
    expect(res.body[39]).toHaveLength(64);
  });

  describe('over HTTP_MEMORY_BUDGET: refused at once with Retry-After, and answered again once there is room', () => {
    let budget: MemoryBudget;
    let release: () => void;
    beforeEach(() => {
      budget = t.app.get(MemoryBudget);
      release = budget.tryAcquire(budget.limit - 100)!;
      expect(release).toBeDefined();
    });
    afterEach(() => release());

    it('TEI: 429 Overloaded', async () => {
      const res = await post('/embed', { inputs: ['hello', 'world'] }).expect(429);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toEqual({ error: expect.stringMatching(/HTTP_MEMORY_BUDGET/), error_type: 'Overloaded' });
      release();
      expect((await post('/embed', { inputs: ['hello', 'world'] }).expect(200)).body).toHaveLength(2);
    });

    it("OpenAI: 503 in OpenAI's body", async () => {
      const res = await post('/v1/embeddings', { model: 'tiny', input: ['hello', 'world'] }).expect(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body.error).toMatchObject({ type: 'server_error', code: 'overloaded' });
      release();
      await post('/v1/embeddings', { model: 'tiny', input: ['hello', 'world'] }).expect(200);
    });

    it("native: 503 in the service's own body", async () => {
      const res = await post('/embeddings/single', { text: 'hello' }).expect(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: expect.stringMatching(/HTTP_MEMORY_BUDGET/),
      });
      release();
      await post('/embeddings/single', { text: 'hello' }).expect(200);
    });

    it('gives back what an answered or refused request held', async () => {
      const held = budget.inUse;
      await post('/embed', { inputs: many(50, 'hello') }).expect(429);
      release();
      await post('/embed', { inputs: many(50, 'hello') }).expect(200);
      await post('/embed', { inputs: many(50, LONG_TEXT), truncate: false }).expect(422);
      await waitFor(() => budget.inUse === 0);
      expect(held).toBeGreaterThan(0);
      expect(budget.inUse).toBe(0);
    });
  });
});

/** Polls until `done` (the server frees a request's share when its response closes, just after the client reads it). */
async function waitFor(done: () => boolean): Promise<void> {
  for (let tries = 0; tries < 100 && !done(); tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
}
