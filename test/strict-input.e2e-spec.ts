import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { BODY_MAX_DEPTH, METADATA_MAX_DEPTH } from '../src/common/json-shape';
import { MAX_ID } from '../src/common/validation';
import { startTinyModelApp, TestApp } from './app';
import { rowCounts } from './row-counts';

/**
 * Issue 10's "found" inputs, each refused with a 4xx that names the field, and nothing written: ids, types, NUL
 * and lone surrogates, invalid UTF-8, deep nesting, ids beyond bigint, a repeated receiver chunk, text limits and
 * the body limit.
 */
describe('Strict input (e2e)', () => {
  let t: TestApp;
  let sql: DataSource;
  let taskId: number;
  let chunk: { id: number; hash: string };

  const json = (method: 'post' | 'get', path: string, body?: string | Buffer) => {
    const req = t.http()[method](path);
    // As given: superagent would otherwise send a Buffer as JSON of its bytes.
    return body === undefined
      ? req
      : req
          .set('content-type', 'application/json')
          .serialize((raw) => raw)
          .send(body);
  };
  const task = (extra: object) => ({ name: 'n', model: 'tiny', chunks: [{ text: 'ok' }], ...extra });

  /** Sends, expects the status, and that no table changed; answers the body. */
  async function refused(send: () => PromiseLike<{ status: number; body: any }>, status: number) {
    const before = await rowCounts(sql);
    const res = await send();
    expect(res.status).toBe(status);
    expect(await rowCounts(sql)).toEqual(before);
    return res.body;
  }
  /** The field errors of a validation 400, or the one message of any other error. */
  const messages = (body: { message: string; errors?: { message: string }[] }) =>
    body.errors ? body.errors.map((error) => error.message) : [body.message];

  beforeAll(async () => {
    t = await startTinyModelApp({
      SENDER_ENABLED: 'false',
      TASK_MAX_TEXT_CHARS: '50',
      EMBED_MAX_INPUT_CHARS: '50',
      HTTP_BODY_LIMIT: '300kb',
    });
    sql = t.app.get(DataSource);
    const res = await t
      .http()
      .post('/tasks')
      .send(task({ chunks: [{ text: 'first' }] }))
      .expect(201);
    taskId = res.body.id;
    const chunks = await t.http().get(`/tasks/${taskId}/chunks`).expect(200);
    chunk = { id: chunks.body.items[0].chunkId, hash: createHash('sha256').update('first').digest('hex') };
  });
  afterAll(() => t.close());

  describe('path and query ids', () => {
    // Each as the server decodes it: `%25201` is the literal `%201`, `%201` is ` 1`.
    const badIds = [
      '0x10',
      '1e3',
      '%201',
      '%25201',
      '-1',
      '1.0',
      '0',
      '01',
      '+1',
      `${MAX_ID + 1}`,
      '9223372036854775808',
    ];

    it.each(badIds)('refuses path id %s with 400 naming the parameter', async (id) => {
      const paths = [`/tasks/${id}`, `/chunks/${id}`, `/tasks/${id}/chunks`, `/chunks/${id}/embedding`];
      const answers = await Promise.all(paths.map(async (path) => [path, (await json('get', path)).body.message]));
      expect(answers).toEqual(paths.map((path) => [path, `id must be an integer from 1 to ${MAX_ID}`]));
      await refused(() => json('post', `/tasks/${id}/cancel`), 400);
    });

    it('takes the largest id and answers 404 for it', async () => {
      await t.http().get(`/tasks/${MAX_ID}`).expect(404);
    });

    it.each(['0x10', '1e3', '%201', '1.0', '01', '-0', '', 'true'])('refuses query integer %j', async (value) => {
      const body = await refused(() => json('get', `/tasks?limit=${value}`), 400);
      expect(messages(body)).toEqual(['limit must be an integer from 1 to 1000']);
    });
  });

  describe('body types', () => {
    it.each([['"5"'], ['true'], ['5.5'], ['1e4'], ['[1]']])('refuses priority %s', async (priority) => {
      const raw = `{"name":"n","model":"tiny","priority":${priority},"chunks":[{"text":"ok"}]}`;
      const body = await refused(() => json('post', '/tasks', raw), 400);
      expect(messages(body)).toContain('priority must be an integer from -1000 to 1000');
    });
  });

  describe('NUL and lone surrogates', () => {
    it.each([
      [
        'text with NUL',
        task({ chunks: [{ text: 'a\u0000b' }] }),
        'chunks.0.text must not contain NUL (\\u0000) characters',
      ],
      ['name with NUL', task({ name: 'a\u0000' }), 'name must not contain NUL (\\u0000) characters'],
      [
        'a metadata value with NUL',
        task({ chunks: [{ text: 'ok', metadata: { a: { b: ['x', 'y\u0000'] } } }] }),
        'chunks.0.metadata.a.b.1 must not contain NUL (\\u0000) characters',
      ],
      [
        'a metadata key with NUL',
        task({ metadata: { 'k\u0000': 1 } }),
        'metadata["k\\u0000"] key must not contain NUL (\\u0000) characters',
      ],
    ])('refuses %s, naming the place', async (_name, body, message) => {
      expect(messages(await refused(() => t.http().post('/tasks').send(body), 400))).toContain(message);
    });

    it.each([
      ['text', '{"name":"n","model":"tiny","chunks":[{"text":"a\\ud800b"}]}', 'chunks.0.text'],
      [
        'a metadata value',
        '{"name":"n","model":"tiny","chunks":[{"text":"a","metadata":{"x":"\\udc00"}}]}',
        'chunks.0.metadata.x',
      ],
      [
        'a metadata key',
        '{"name":"n","model":"tiny","metadata":{"\\ud83d":1},"chunks":[{"text":"a"}]}',
        'metadata["\\ud83d"]',
      ],
    ])('refuses a lone surrogate in %s on every route', async (_name, raw, path) => {
      const body = await refused(() => json('post', '/tasks', raw), 400);
      expect(body.message).toMatch(new RegExp(`^${escape(path)} (key )?must be valid Unicode`));
    });

    it('refuses lone surrogates in embedding inputs and receiver fields too', async () => {
      await refused(() => json('post', '/embeddings/single', '{"text":"a\\ud800"}'), 400);
      const openAi = await refused(
        () => json('post', '/v1/embeddings', '{"model":"tiny","input":["ok","\\ud800"]}'),
        400,
      );
      expect(openAi.error.message).toContain('input.1 must be valid Unicode (it holds a lone surrogate)');
      // TEI answers a body serde cannot read with 400 (the 422 is for a body of the wrong shape).
      expect((await refused(() => json('post', '/embed', '{"inputs":"\\udfff"}'), 400)).error_type).toBe('Validation');
    });

    it('keeps a valid surrogate pair, and hashes the text as sent', async () => {
      const text = 'emoji 😀';
      const res = await t
        .http()
        .post('/tasks')
        .send(task({ chunks: [{ text }] }))
        .expect(201);
      const [item] = (await t.http().get(`/tasks/${res.body.id}/chunks`).expect(200)).body.items;
      expect(item.text).toBe(text);
      expect(item.contentHash).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    });
  });

  it('refuses a body that is not valid UTF-8 instead of storing U+FFFD', async () => {
    const raw = Buffer.concat([
      Buffer.from('{"name":"n","model":"tiny","chunks":[{"text":"a'),
      Buffer.from([0xff]),
      Buffer.from('"}]}'),
    ]);
    expect((await refused(() => json('post', '/tasks', raw), 400)).message).toBe('the request body is not valid UTF-8');
    const openAi = await refused(() => json('post', '/v1/embeddings', raw), 400);
    expect(openAi.error.message).toContain('the request body is not valid UTF-8');
  });

  describe('nesting', () => {
    const nested = (levels: number) => {
      let value: unknown = 1;
      for (let i = 0; i < levels; i++) value = { a: value };
      return value as Record<string, unknown>;
    };

    it(`takes metadata ${METADATA_MAX_DEPTH} levels deep and refuses one more, naming where`, async () => {
      await t
        .http()
        .post('/tasks')
        .send(task({ metadata: nested(METADATA_MAX_DEPTH) }))
        .expect(201);
      const body = await refused(
        () =>
          t
            .http()
            .post('/tasks')
            .send(task({ chunks: [{ text: 'a', metadata: nested(METADATA_MAX_DEPTH + 1) }] })),
        400,
      );
      expect(messages(body)).toEqual([
        `chunks.0.metadata${'.a'.repeat(METADATA_MAX_DEPTH)} nests deeper than ${METADATA_MAX_DEPTH} levels`,
      ]);
    });

    // 100,000 levels of arrays and 40,000 of objects: as deep as HTTP_BODY_LIMIT (300kb here) lets a body go.
    it.each([
      [BODY_MAX_DEPTH + 1, BODY_MAX_DEPTH + 1],
      [40_000, 100_000],
    ])('answers 400, not a stack overflow, for bodies %i and %i levels deep', async (levels, arrayLevels) => {
      const raw = `{"name":"n","model":"tiny","chunks":[{"text":"a"}],"metadata":${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}}`;
      expect((await refused(() => json('post', '/tasks', raw), 400)).message).toMatch(
        new RegExp(`^metadata(\\.a)+ nests deeper than ${BODY_MAX_DEPTH} levels$`),
      );
      const arrays = `{"model":"tiny","input":${'['.repeat(arrayLevels)}${']'.repeat(arrayLevels)}}`;
      expect((await refused(() => json('post', '/v1/embeddings', arrays), 400)).error.message).toMatch(/nests deeper/);
    });
  });

  describe('chunk ids beyond what a bigint (or a JSON number) holds exactly', () => {
    const huge = ['9223372036854775807', '9223372036854775808', '1e20', `${MAX_ID + 1}`, '"1"', '1.5'];

    it.each(huge)('refuses %s in POST /tasks and POST /tasks/:id/chunks', async (id) => {
      const create = await refused(
        () => json('post', '/tasks', `{"name":"n","model":"tiny","chunkIds":[${chunk.id},${id}]}`),
        400,
      );
      expect(messages(create)).toEqual([`chunkIds[1] must be an integer from 1 to ${MAX_ID}`]);
      const append = await refused(() => json('post', `/tasks/${taskId}/chunks`, `{"chunkIds":[${id}]}`), 400);
      expect(messages(append)).toEqual([`chunkIds[0] must be an integer from 1 to ${MAX_ID}`]);
    });

    it.each(huge)('refuses %s as a receiver chunk_id and task_id', async (id) => {
      const item = `{"chunk_id":${id},"content_hash":"${chunk.hash}","embedding":[1,2]}`;
      const raw = `{"task_id":${id},"model":"m","dimensions":2,"items":[${item}]}`;
      expect(messages(await refused(() => json('post', '/receiver/embeddings', raw), 400))).toEqual([
        `task_id must be an integer from 1 to ${MAX_ID}`,
        `items.0.chunk_id must be an integer from 1 to ${MAX_ID}`,
      ]);
    });
  });

  it('refuses one chunk twice in a receiver batch, naming both places', async () => {
    const item = { chunk_id: chunk.id, content_hash: chunk.hash, embedding: [1, 2] };
    const body = await refused(
      () =>
        t
          .http()
          .post('/receiver/embeddings')
          .send({ model: 'm', dimensions: 2, items: [item, { ...item, embedding: [3, 4] }] }),
      400,
    );
    expect(messages(body)).toEqual([`items[1].chunk_id ${chunk.id} repeats items[0]; one vector per chunk per batch`]);
  });

  describe('text limits', () => {
    it('refuses a task text over TASK_MAX_TEXT_CHARS on create and append, naming the chunk', async () => {
      const chunks = [{ text: 'x'.repeat(50) }, { text: 'x'.repeat(51) }];
      const create = await refused(() => t.http().post('/tasks').send(task({ chunks })), 413);
      expect(create.message).toBe('chunks.1.text: at most 50 characters; got 51');
      const append = await refused(() => t.http().post(`/tasks/${taskId}/chunks`).send({ chunks }), 413);
      expect(append.message).toBe('chunks.1.text: at most 50 characters; got 51');
    });

    it('refuses an embedding text over EMBED_MAX_INPUT_CHARS on every dialect', async () => {
      const long = 'x'.repeat(51);
      await refused(() => t.http().post('/embeddings/single').send({ text: long }), 413);
      await refused(
        () =>
          t
            .http()
            .post('/embeddings/batch')
            .send({ chunks: [{ id: 1, text: long }] }),
        413,
      );
      expect(
        (
          await refused(
            () =>
              t
                .http()
                .post('/v1/embeddings')
                .send({ model: 'tiny', input: ['a', long] }),
            413,
          )
        ).error.param,
      ).toBe('input');
      await refused(() => t.http().post('/embed').send({ inputs: long }), 422);
    });
  });

  describe('HTTP_BODY_LIMIT', () => {
    const big = JSON.stringify(task({ chunks: Array.from({ length: 8000 }, () => ({ text: 'x'.repeat(40) })) }));

    it('answers 413 with the JSON error body', async () => {
      const body = await refused(() => json('post', '/tasks', big), 413);
      expect(body).toEqual({ statusCode: 413, message: 'request entity too large', error: 'Payload Too Large' });
    });

    it("answers 413 in OpenAI's error body on its route", async () => {
      const body = await refused(() => json('post', '/v1/embeddings', big), 413);
      expect(body.error).toMatchObject({ type: 'invalid_request_error' });
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
