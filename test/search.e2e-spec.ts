import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { cosine } from '../src/common/cosine';
import { SEARCH_BODY_EXAMPLES } from '../src/search/search.dto';
import { TASK_BODY_EXAMPLES } from '../src/task/task.dto';
import { ensureModel } from './fixtures/model/make-model';
import { startTestApp, TestApp } from './app';
import { waitFor } from './wait';

const MODEL = 'sentence-transformers/all-MiniLM-L6-v2';
const KEY = 'search-test-key';
const ROOT = resolve(__dirname, '..');

/** The CLI in a child process, as `npm run cli` runs it. */
function cli(args: string[], url: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, EMBEDDING_TASKS_URL: url, EMBEDDING_TASKS_API_KEY: KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let [stdout, stderr] = ['', ''];
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  return new Promise((done) => child.once('close', (code) => done({ code, stdout, stderr })));
}

/**
 * POST /search on the exact path (this database has no pgvector: SEARCH_MODE=auto stays exact), against the real app
 * serving the tiny model under the README's model name: the README's task is embedded, then searched for.
 */
describe('Search (e2e)', () => {
  let t: TestApp;
  let sql: DataSource;
  const post = (body: object) => t.http().post('/search').set('x-api-key', KEY).send(body);

  beforeAll(async () => {
    t = await startTestApp({
      EMBEDDING_MODELS: `${MODEL}=${await ensureModel('tiny')}`,
      API_KEY: KEY,
      SENDER_POLL_INTERVAL_MS: '100',
    });
    sql = t.app.get(DataSource);
    const created = await t.http().post('/tasks').set('x-api-key', KEY).send(TASK_BODY_EXAMPLES.create.handbook.value);
    expect(created.status).toBe(201);
    await waitFor(async () => {
      const task = await t.http().get(`/tasks/${created.body.id}`).set('x-api-key', KEY);
      return task.body.status === 'completed' ? true : undefined;
    });
  });
  afterAll(() => t?.close());

  it('finds the chunk whose text is the query first, with its text and metadata, and says it is exact', async () => {
    const res = await post({ query: 'Embeddings are vectors.' }).expect(200);
    expect(res.body).toMatchObject({ model: MODEL, exact: true });
    expect(res.body.results).toHaveLength(2);
    expect(res.body.results[0]).toEqual({
      chunkId: 2,
      score: expect.closeTo(1, 5),
      text: 'Embeddings are vectors.',
      metadata: { page: 2 },
    });
    expect(res.body.results[1].score).toBeLessThan(res.body.results[0].score);
  });

  it('scores by cosine against the stored vectors, and answers a vector query the same as its text', async () => {
    const [{ embedding }] = await sql.query(`SELECT embedding FROM mgmt.embedding WHERE chunk_id = 1`);
    // The service reads the stored float32 values exactly; their shortest decimal text (what `pg` parses) differs.
    const stored: number[][] = (await sql.query(`SELECT embedding FROM mgmt.embedding ORDER BY chunk_id`)).map(
      (row: { embedding: number[] }) => row.embedding.map(Math.fround),
    );
    const res = await post({ vector: embedding, text: false, metadata: false }).expect(200);
    expect(res.body.results.map((result: object) => Object.keys(result).sort())).toEqual([
      ['chunkId', 'score'],
      ['chunkId', 'score'],
    ]);
    expect(res.body.results[0]).toEqual({ chunkId: 1, score: cosine(stored[0], embedding) });
    expect(res.body.results[1]).toEqual({ chunkId: 2, score: cosine(stored[1], embedding) });
  });

  it('answers every OpenAPI example of POST /search', async () => {
    for (const [name, { value }] of Object.entries(SEARCH_BODY_EXAMPLES)) {
      const res = await post(value);
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
      expect(res.body.results.length).toBeGreaterThan(0);
    }
    const filtered = await post(SEARCH_BODY_EXAMPLES.filtered.value).expect(200);
    expect(filtered.body.results.map((result: { chunkId: number }) => result.chunkId)).toEqual([2]);
  });

  it('limits to a task and to metadata containing the filter', async () => {
    const other = await t
      .http()
      .post('/tasks')
      .set('x-api-key', KEY)
      .send({
        name: 'other',
        model: MODEL,
        chunks: [{ text: 'Embeddings are vectors!', metadata: { page: 2, x: 1 } }],
      });
    await waitFor(async () => {
      const task = await t.http().get(`/tasks/${other.body.id}`).set('x-api-key', KEY);
      return task.body.status === 'completed' ? true : undefined;
    });
    const ids = async (body: object) =>
      (await post({ query: 'Embeddings are vectors.', ...body }).expect(200)).body.results.map(
        (result: { chunkId: number }) => result.chunkId,
      );
    expect(await ids({})).toEqual([2, 3, 1]);
    expect(await ids({ taskId: other.body.id })).toEqual([3]);
    expect(await ids({ taskId: 1 })).toEqual([2, 1]);
    expect(await ids({ filter: { page: 2 } })).toEqual([2, 3]);
    expect(await ids({ filter: { x: 1 } })).toEqual([3]);
    expect(await ids({ filter: {}, k: 1 })).toEqual([2]);
    expect(await ids({ taskId: 1, filter: { x: 1 } })).toEqual([]);
  });

  it.each([
    [{}, 'query or vector is required'],
    [{ query: 'a', vector: [1, 2] }, 'give query or vector, not both'],
    [{ vector: [1, 2, 3] }, "vector: the model's stored vectors have"],
    [{ query: 'a', k: 0 }, 'k must be an integer from 1 to 1000'],
    [{ query: 'a', k: 1001 }, 'k must be an integer from 1 to 1000'],
    [{ query: 'a', filter: [1] }, 'filter must be a JSON object'],
    [{ query: 'a', filter: 'page' }, 'filter must be a JSON object'],
    [{ query: 'a', taskId: 'x' }, 'taskId must be an integer'],
    [{ query: 'a', unknown: 1 }, 'property unknown should not exist'],
    [{ query: 7 }, 'query must be a string'],
    [{ query: '' }, 'query must not be empty'],
    [{ vector: [] }, 'vector must be a non-empty array of numbers'],
    [{ vector: [1, 'x'] }, 'vector[1] must be a finite number'],
    [{ query: 'a', prompt_name: 'nope' }, 'has no prompt named \\"nope\\"'],
  ])('400 naming the field for %j', async (body, message) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.message)).toContain(message.replace(/'/g, "'"));
  });

  it('400 for a vector with a number JSON reads as Infinity, and for a zero vector', async () => {
    const dimensions = (await sql.query(`SELECT dimensions FROM mgmt.embedding LIMIT 1`))[0].dimensions;
    const values = Array.from({ length: dimensions }, () => '0.5');
    values[3] = '1e400';
    const res = await t
      .http()
      .post('/search')
      .set('x-api-key', KEY)
      .set('content-type', 'application/json')
      .send(`{"vector": [${values.join(',')}]}`);
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('vector[3] must be a finite number');
    const zero = await post({ vector: Array.from({ length: dimensions }, () => 0) }).expect(400);
    expect(zero.body.message).toContain('zero vector');
  });

  it('404 for an unknown task or a model with no stored vectors; 413 for a query over EMBED_MAX_INPUT_CHARS', async () => {
    expect((await post({ query: 'a', taskId: 999 }).expect(404)).body.message).toBe('task 999 not found');
    const res = await post({ vector: [1, 2], model: 'nobody' }).expect(404);
    expect(res.body.message).toBe('model "nobody" has no stored vectors');
    await post({ query: 'x'.repeat(100_001) }).expect(413);
  });

  it('needs the API key like every route', async () => {
    await t.http().post('/search').send({ query: 'a' }).expect(401);
  });

  it('the CLI prints a table, or the JSON with --json; search-index says pgvector is not in use', async () => {
    const url = await t.listen();
    const table = await cli(['search', 'Embeddings are vectors.', '--k', '2', '--filter', '{"page": 2}'], url);
    expect(table).toMatchObject({ code: 0 });
    expect(table.stdout).toMatch(
      /^SCORE\s+CHUNK\s+TEXT\s+METADATA\n1\.0000\s+2\s+Embeddings are vectors\.\s+\{"page":2\}/,
    );
    expect(table.stderr).toContain(`results from model ${MODEL}, exact`);
    const json = await cli(['search', 'PostgreSQL is a relational database.', '--json', '--no-metadata'], url);
    expect(JSON.parse(json.stdout)).toMatchObject({ exact: true, results: [{ chunkId: 1 }, {}, {}] });
    expect(JSON.parse(json.stdout).results[0].metadata).toBeUndefined();
    const bad = await cli(['search', 'x', '--filter', '[1]'], url);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('--filter must be a JSON object') });
    const indexes = await cli(['search-index'], url);
    expect(indexes.stdout).toContain('searches are exact (pgvector not in use)');
    const build = await cli(['search-index', '--model', MODEL], url);
    expect(build).toMatchObject({ code: 1, stderr: expect.stringContaining('no index to build') });
  });
});
