import { Client } from 'pg';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { startTestApp, TestApp } from './app';
import { ServiceProcess, startService } from './processes';

const KEY = 'hostile-input-key';
const NUMBERS = 8_000_000;
const MISSING_KEY = 'API key required: send Authorization: Bearer <key> or x-api-key';
const TOO_MANY_VALUES = 'the body holds more than 2000000 JSON values (HTTP_MAX_JSON_VALUES)';

/** The attack: 15.6 KB of gzip that inflates to a valid 16 MB `{"chunks":[0,0,…]}` of 8 million numbers. */
const gzipNumbers = gzipSync(`{"chunks":[${'0,'.repeat(NUMBERS - 1)}0]}`, { level: 9 });

/** Keys that class-transformer dropped (Object.prototype's names) and that Nest deleted (`__proto__`, `constructor`). */
const TRICKY_KEYS = '"constructor":1,"toString":"a","valueOf":2,"hasOwnProperty":3,"__proto__":{"polluted":true}';
const METADATA = `{${TRICKY_KEYS},"nested":{${TRICKY_KEYS}}}`;

describe('Hostile input (e2e)', () => {
  let t: TestApp;
  let sql: Client;
  let url: string;
  const post = (path: string, body: string | Buffer, type = 'application/json') =>
    t.http().post(path).set('x-api-key', KEY).set('content-type', type).send(body);

  beforeAll(async () => {
    t = await startTestApp({ API_KEY: KEY, SENDER_ENABLED: 'false' });
    url = await t.listen();
    sql = new Client({ connectionString: t.db.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql.end();
    await t.close();
  });

  describe('nothing is read before it is allowed', () => {
    /** fetch, not supertest: superagent does not send a gzip body as given. */
    const sendGzip = (path: string, body: Buffer, key?: string) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          ...(key ? { 'x-api-key': key } : {}),
        },
        body,
      });
    const bomb = gzipSync(`[${' '.repeat(20 * 1024 * 1024)}]`);

    it('answers the gzip of 8 million numbers without a key 401, closing the connection', async () => {
      const res = await sendGzip('/tasks', gzipNumbers);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ statusCode: 401, message: MISSING_KEY, error: 'Unauthorized' });
      expect(res.headers.get('connection')).toBe('close');
    });

    it('closes the connection of an unauthenticated body still being sent, after answering 401', async () => {
      const { hostname, port } = new URL(url);
      const socket = connect(Number(port), hostname);
      let answer = '';
      socket.on('data', (data: Buffer) => (answer += data.toString('latin1')));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => undefined); // a write after the server closed may be reset
      // 1 GB announced, 64 KB sent, and the rest never: the server must not wait for it.
      socket.write(
        `POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n`,
      );
      socket.write(`{"chunks":[${'0,'.repeat(32 * 1024)}`);
      await closed;
      expect(answer).toMatch(/^HTTP\/1\.1 401 /);
      expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    });

    it('does not parse or inflate an unauthenticated body: not JSON, or over the limit once inflated, is still 401', async () => {
      const notJson = await t.http().post('/tasks').set('content-type', 'application/json').send('{not json');
      expect(notJson.status).toBe(401);
      const inflated = await sendGzip('/embed', bomb, 'wrong');
      expect(inflated.status).toBe(401);
      expect(await inflated.json()).toEqual({ error: 'invalid API key', error_type: 'Validation' }); // TEI's body
    });

    it('caps inflated bodies by HTTP_BODY_LIMIT, as plain ones', async () => {
      const res = await sendGzip('/tasks', bomb, KEY);
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({
        statusCode: 413,
        message: 'request entity too large',
        error: 'Payload Too Large',
      });
    });

    it('answers the same body with the key 413 for its values, before parsing it', async () => {
      const res = await sendGzip('/tasks', gzipNumbers, KEY);
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({ statusCode: 413, message: TOO_MANY_VALUES, error: 'Payload Too Large' });
    });
  });

  describe('what is stored is what was sent', () => {
    async function stored(table: 'task' | 'embed_chunk', id: number, expected: string): Promise<boolean> {
      const { rows } = await sql.query(`SELECT metadata = $2::jsonb AS same FROM mgmt.${table} WHERE id = $1`, [
        id,
        expected,
      ]);
      return (rows[0] as { same: boolean }).same;
    }

    it('keeps metadata keys of any name, top level and nested, in task and chunk metadata', async () => {
      const body = `{"name":"tricky","model":"m","metadata":${METADATA},"chunks":[{"text":"x","metadata":${METADATA}}]}`;
      const created = await post('/tasks', body).expect(201);
      const id = created.body.id as number;
      expect(await stored('task', id, METADATA)).toBe(true);
      const task = await t.http().get(`/tasks/${id}`).set('x-api-key', KEY).expect(200);
      expect(task.body.metadata).toEqual(JSON.parse(METADATA));
      expect(Object.keys(task.body.metadata.nested).sort()).toEqual(
        ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf'].sort(),
      );

      const chunks = await t.http().get(`/tasks/${id}/chunks`).set('x-api-key', KEY).expect(200);
      const chunkId = chunks.body.items[0].chunkId as number;
      expect(await stored('embed_chunk', chunkId, METADATA)).toBe(true);
      const chunk = await t.http().get(`/chunks/${chunkId}`).set('x-api-key', KEY).expect(200);
      expect(chunk.body.metadata).toEqual(JSON.parse(METADATA));
      expect(Object.getPrototypeOf({})).not.toHaveProperty('polluted');
    });

    it('keeps them in chunks added later too', async () => {
      const { body: task } = await post('/tasks', '{"name":"later","model":"m","chunks":[{"text":"a"}]}').expect(201);
      await post(`/tasks/${task.id}/chunks`, `{"chunks":[{"text":"b","metadata":${METADATA}}]}`).expect(200);
      const { rows } = await sql.query(
        `SELECT c.metadata = $2::jsonb AS same FROM mgmt.embed_chunk c
           JOIN mgmt.embed_task_chunk l ON l.chunk_id = c.id WHERE l.task_id = $1 AND c.text = 'b'`,
        [task.id, METADATA],
      );
      expect(rows).toEqual([{ same: true }]);
    });

    it.each([
      ['{"name":"a","name":"b","model":"m","chunks":[{"text":"x"}]}', 'name is given twice (duplicate key "name")'],
      [
        '{"name":"a","model":"m","chunks":[{"text":"x"},{"text":"y","metadata":{"page":1,"page":2}}]}',
        'chunks.1.metadata.page is given twice (duplicate key "page")',
      ],
      [
        '{"name":"a","model":"m","metadata":{"a b":{"k":1,"\\u006b":2}},"chunks":[{"text":"x"}]}',
        'metadata["a b"].k is given twice (duplicate key "k")',
      ],
    ])('refuses duplicate keys, naming the key and its place: %s', async (body, message) => {
      const res = await post('/tasks', body).expect(400);
      expect(res.body).toEqual({ statusCode: 400, message, error: 'Bad Request' });
    });

    it('refuses a chunk id given twice, naming both places', async () => {
      const { body: task } = await post('/tasks', '{"name":"ids","model":"m","chunks":[{"text":"z"}]}').expect(201);
      const chunks = await t.http().get(`/tasks/${task.id}/chunks`).set('x-api-key', KEY).expect(200);
      const chunkId = chunks.body.items[0].chunkId as number;
      const res = await post('/tasks', `{"name":"twice","model":"m","chunkIds":[${chunkId},${chunkId}]}`).expect(400);
      const message = `chunkIds[1] repeats chunkIds[0] (id ${chunkId})`;
      expect(res.body).toEqual({
        statusCode: 400,
        message,
        error: 'Bad Request',
        errors: [{ field: 'chunkIds', message }],
      });
      const { rows } = await sql.query(`SELECT count(*)::int AS n FROM mgmt.task WHERE name = 'twice'`);
      expect(rows).toEqual([{ n: 0 }]);
    });

    it.each(['__proto__', 'constructor'])(
      'refuses %s at the top of a body and in a chunk, as any unknown field',
      async (key) => {
        const top = await post('/tasks', `{"name":"p","model":"m","chunks":[{"text":"x"}],"${key}":{"a":1}}`).expect(
          400,
        );
        expect(top.body).toEqual({
          statusCode: 400,
          message: `property ${key} should not exist`,
          error: 'Bad Request',
          errors: [{ field: key, message: `property ${key} should not exist` }],
        });
        const inChunk = await post('/tasks', `{"name":"p","model":"m","chunks":[{"text":"x","${key}":{}}]}`).expect(
          400,
        );
        expect(inChunk.body.message).toBe(`chunks.0.property ${key} should not exist`);
        expect(inChunk.body.errors).toEqual([
          { field: `chunks.0.${key}`, message: `chunks.0.property ${key} should not exist` },
        ]);
      },
    );

    it.each(['utf-16', 'latin1'])('refuses charset=%s with 415 before reading the body', async (charset) => {
      const res = await post(
        '/tasks',
        '{"name":"a","model":"m","chunks":[{"text":"x"}]}',
        `application/json; charset=${charset}`,
      );
      expect(res.status).toBe(415);
      expect(res.body).toEqual({
        statusCode: 415,
        message: `unsupported charset "${charset.toUpperCase()}"`,
        error: 'Unsupported Media Type',
      });
    });

    it.each(['utf8', 'UTF8', 'utf-8', '"utf8"'])('takes charset=%s as UTF-8', async (charset) => {
      const res = await post(
        '/tasks',
        '{"name":"é","model":"m","chunks":[{"text":"ü"}]}',
        `application/json; charset=${charset}`,
      );
      expect(res.status).toBe(201);
      const task = await t.http().get(`/tasks/${res.body.id}`).set('x-api-key', KEY).expect(200);
      expect(task.body.name).toBe('é');
    });
  });
});

/** The attack against a real process with a 512 MB heap: before, four at once ran it out of memory. */
describe('Hostile input against a service process (e2e)', () => {
  let db: TestApp;
  let service: ServiceProcess;

  beforeAll(async () => {
    db = await startTestApp({ SENDER_ENABLED: 'false' }); // only for its migrated database
    const nodeOptions = `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=512`.trim();
    service = await startService({
      DATABASE_URL: db.db.url,
      API_KEY: KEY,
      NODE_OPTIONS: nodeOptions,
      SENDER_ENABLED: 'false',
    });
  });
  afterAll(async () => {
    service.child.kill('SIGTERM');
    await service.exited;
    await db.close();
  });

  const send = (key?: string) =>
    fetch(`${service.url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...(key ? { 'x-api-key': key } : {}) },
      body: gzipNumbers,
    });

  async function expectAliveAndAnswering(): Promise<void> {
    expect(service.child.exitCode).toBeNull();
    expect((await fetch(`${service.url}/health/live`)).status).toBe(200);
    const created = await fetch(`${service.url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      body: JSON.stringify({ name: 'after', model: 'm', chunks: [{ text: 'still here' }] }),
    });
    expect(created.status).toBe(201);
  }

  it('stays alive and answering through four unauthenticated gzip-numbers requests at once', async () => {
    const answers = await Promise.all([send(), send(), send(), send()]);
    expect(answers.map((res) => res.status)).toEqual([401, 401, 401, 401]);
    await expectAliveAndAnswering();
  });

  it('stays alive and answering through four at once with the key (413 each)', async () => {
    const answers = await Promise.all([send(KEY), send(KEY), send(KEY), send(KEY)]);
    expect(answers.map((res) => res.status)).toEqual([413, 413, 413, 413]);
    expect(((await answers[0].json()) as { message: string }).message).toBe(TOO_MANY_VALUES);
    await expectAliveAndAnswering();
    expect(service.output()).not.toMatch(/heap out of memory/i);
  });
});
