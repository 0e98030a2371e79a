import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureModel } from './fixtures/model/make-model';
import { splitText } from '../src/cli/split-text';
import { EmbeddingService } from '../src/embedding/embedding.service';
import { startTestApp, TestApp } from './app';
import { Scrape } from './metrics';
import { freePort } from './ports';
import { TestReceiver } from './processes';
import { waitFor } from './wait';

const ROOT = resolve(__dirname, '..');

interface CliRun {
  /** stdout and stderr so far, interleaved. */
  output: () => string;
  done: Promise<{ code: number | null; stdout: string; stderr: string; output: string }>;
}

/** The real CLI in a child process, as `npm run cli` runs it, with only the environment given here. */
function startCli(args: string[], env: Record<string, string>): CliRun {
  const { EMBEDDING_TASKS_URL, EMBEDDING_TASKS_API_KEY, ...inherited } = process.env;
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let output = '';
  child.stdout.on('data', (data: Buffer) => ((stdout += data.toString()), (output += data.toString())));
  child.stderr.on('data', (data: Buffer) => ((stderr += data.toString()), (output += data.toString())));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string; output: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout, stderr, output })),
  );
  return { output: () => output, done };
}

/**
 * The CLI against real apps over HTTP: one that embeds with the tiny model and delivers through a test receiver
 * (which can refuse a chunk), and one API-only app with an API key and a 5-chunk request limit, whose tasks stay
 * pending (no model, no sender).
 */
describe('CLI (e2e)', () => {
  let embedding: TestApp;
  let apiOnly: TestApp;
  let receiver: TestReceiver;
  let dir: string;
  const KEY = 'cli-test-key';
  let envA: Record<string, string>;
  let envB: Record<string, string>;
  const cli = (args: string[], env: Record<string, string>) => startCli(args, env).done;

  beforeAll(async () => {
    const model = await ensureModel('tiny');
    receiver = new TestReceiver('');
    await receiver.start();
    [embedding, apiOnly, dir] = await Promise.all([
      startTestApp({
        EMBEDDING_MODELS: `tiny=${model}`,
        RECEIVER_URL: receiver.url,
        SENDER_BATCH_SIZE: '16',
        SENDER_POLL_INTERVAL_MS: '100',
        SENDER_RETRY_BASE_MS: '20',
      }),
      startTestApp({ API_KEY: KEY, TASK_MAX_CHUNKS_PER_REQUEST: '5' }),
      mkdtemp(join(tmpdir(), 'cli-e2e-')),
    ]);
    envA = { EMBEDDING_TASKS_URL: await listen(embedding) };
    envB = { EMBEDDING_TASKS_URL: await listen(apiOnly), EMBEDDING_TASKS_API_KEY: KEY };
    receiver.forwardTo = envA.EMBEDDING_TASKS_URL;
  });
  afterAll(async () => {
    await Promise.all([embedding?.close(), apiOnly?.close()]);
    await receiver?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => (receiver.behaviour = {}));

  async function listen(t: TestApp): Promise<string> {
    return await t.listen();
  }

  /** Requests the embedding app answered so far, by route template. */
  async function requestsByRoute(): Promise<Map<string, number>> {
    const scrape = new Scrape((await embedding.http().get('/metrics').expect(200)).text);
    const counts = new Map<string, number>();
    for (const { labels, value } of scrape.series('embedding_tasks_http_requests_total')) {
      counts.set(labels.route, (counts.get(labels.route) ?? 0) + value);
    }
    return counts;
  }

  /** Each exported line against GET /chunks/:id/embedding: one vector per chunk, the very same numbers. */
  async function expectExportMatchesStore(jsonLines: string, texts: string[], metadata?: object[]) {
    const records = jsonLines
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records.map((record) => record.text)).toEqual(texts);
    if (metadata) expect(records.map((record) => record.metadata)).toEqual(metadata);
    expect(new Set(records.map((record) => record.chunk_id)).size).toBe(texts.length);
    for (const record of records) {
      const stored = await embedding.http().get(`/chunks/${record.chunk_id}/embedding?model=tiny`).expect(200);
      expect(record.model).toBe('tiny');
      expect(record.embedding).toEqual(stored.body.embedding);
    }
  }

  it('submits a JSON-lines file, follows it to completion and exports one vector per chunk', async () => {
    const lines = Array.from({ length: 40 }, (_, i) =>
      i % 4 === 0 ? `jsonl chunk ${i}` : { text: `jsonl chunk ${i}`, metadata: { i } },
    );
    const file = join(dir, 'chunks.jsonl');
    await writeFile(file, lines.map((line) => JSON.stringify(line)).join('\n') + '\n');

    const submitted = await cli(['submit', file, '--model', 'tiny', '--name', 'from jsonl', '--interval', '100'], envA);
    expect(submitted.code).toBe(0);
    const id = Number(submitted.stdout.trim());
    expect(id).toBeGreaterThan(0);
    expect(submitted.stderr).toContain(`task ${id} "from jsonl": 40 chunks from ${file}, model tiny`);
    expect(submitted.stderr).toMatch(new RegExp(`task ${id} completed: 40 done, 0 failed of 40`));
    // What the 40 texts cost, the model's own count, on the closing line and in status.
    const texts = lines.map((line) => (typeof line === 'string' ? line : line.text));
    const counts = (await embedding.app.get(EmbeddingService).countTokens('tiny', texts));
    const tokens = counts.reduce((sum, count) => sum + count, 0).toLocaleString('en-US');
    expect(submitted.stderr).toMatch(new RegExp(`completed: 40 done, 0 failed of 40 in \\S+; ${tokens} tokens\n`));
    expect((await cli(['status', String(id)], envA)).stdout).toContain(`  tokens     ${tokens} tokens\n`);

    const out = join(dir, 'vectors.jsonl');
    const before = await requestsByRoute();
    const exported = await cli(['export', String(id), '--out', out], envA);
    expect(exported).toMatchObject({ code: 0, stdout: '' });
    expect(exported.stderr).toContain(`exported 40 vectors of task ${id} (model tiny) to ${out}`);
    // One streamed request for the vectors, none per chunk.
    const after = await requestsByRoute();
    expect(after.get('/tasks/:id/embeddings')).toBe((before.get('/tasks/:id/embeddings') ?? 0) + 1);
    expect(after.get('/chunks/:id/embedding')).toBe(before.get('/chunks/:id/embedding'));
    expect(after.get('/chunks/:id')).toBe(before.get('/chunks/:id'));
    await expectExportMatchesStore(
      await readFile(out, 'utf8'),
      lines.map((line) => (typeof line === 'string' ? line : line.text)),
      lines.map((line) => (typeof line === 'string' ? {} : line.metadata)),
    );
  });

  it('submits a plain text file, one chunk per non-empty line, and exports to stdout', async () => {
    const texts = Array.from({ length: 12 }, (_, i) => `plain line ${i}: ${'words '.repeat(i + 1).trim()}`);
    const file = join(dir, 'lines.txt');
    await writeFile(file, texts.map((text, i) => (i % 3 === 0 ? `  ${text}\n\n` : `${text}\n`)).join(''));

    const submitted = await cli(
      ['--url', envA.EMBEDDING_TASKS_URL, 'submit', file, '--model', 'tiny', '--interval', '100'],
      {},
    );
    expect(submitted.code).toBe(0);
    expect(submitted.stderr).toContain('completed: 12 done, 0 failed of 12');

    const exported = await cli(['export', submitted.stdout.trim(), '--no-metadata'], envA);
    expect(exported.code).toBe(0);
    await expectExportMatchesStore(exported.stdout, texts);
    expect(JSON.parse(exported.stdout.split('\n')[0])).not.toHaveProperty('metadata');
  });

  it('exits 3 when the task fails, naming the failure; retry --follow brings it to completion', async () => {
    receiver.behaviour = { rejectContentHash: createHash('sha256').update('refused 3').digest('hex') };
    const file = join(dir, 'refused.txt');
    await writeFile(file, Array.from({ length: 6 }, (_, i) => `refused ${i}`).join('\n'));

    const failed = await cli(['submit', file, '--model', 'tiny', '--interval', '100'], envA);
    const id = failed.stdout.trim();
    expect(failed.code).toBe(3);
    expect(failed.stderr).toContain(`task ${id} failed: 5 done, 1 failed of 6`);
    expect(failed.stderr).toMatch(/first failure: chunk \d+: .*422/);
    expect(failed.stderr).toContain(`embedding-tasks retry ${id}`);

    receiver.behaviour = {};
    const retried = await cli(['retry', id, '--follow', '--interval', '100'], envA);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toContain(`task ${id}`);
    expect(retried.stderr).toContain(`task ${id} completed: 6 done, 0 failed of 6`);

    const again = await cli(['retry', id], envA);
    expect(again).toMatchObject({ code: 1, stderr: `embedding-tasks: task ${id} has no failed chunks to retry\n` });
  });

  it("runs psql on the service's database (DATABASE_URL), passing on the arguments after --", async () => {
    const file = join(dir, 'psql.txt');
    await writeFile(file, 'counted by psql\n');
    const id = (await cli(['submit', file, '--model', 'any', '--no-follow'], envB)).stdout.trim();
    const sql = `SELECT name FROM mgmt.task WHERE id = ${id}`;
    const ran = await cli(['psql', '--', '-tAc', sql], { ...envB, DATABASE_URL: apiOnly.db.url });
    expect(ran).toMatchObject({ code: 0, stdout: 'psql.txt\n' });
    const refused = await cli(['psql', '--', '-c', 'SELECT 1'], {
      ...envB,
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    });
    expect(refused.code).not.toBe(0);
  });

  it('says clearly when the server is unreachable, the task unknown, or the request refused, and exits 1', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const file = join(dir, 'one.txt');
    await writeFile(file, 'one line\n');
    const [unreachable, unknown, refused, badLine] = await Promise.all([
      cli(['list'], { EMBEDDING_TASKS_URL: closed }),
      cli(['status', '999999'], envA),
      cli(['submit', file, '--model', 'not-served'], envA),
      cli(['list', '--limit', 'many'], envA),
    ]);
    expect(unreachable).toMatchObject({
      code: 1,
      stderr: `embedding-tasks: cannot reach ${closed}: connection refused — is the service running? set --url or EMBEDDING_TASKS_URL\n`,
    });
    expect(unknown).toMatchObject({ code: 1, stderr: 'embedding-tasks: task 999999 not found\n' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('model: "not-served" is not served by this service; served models: tiny');
    expect(badLine.code).toBe(2);
    expect(badLine.stderr).toContain('--limit must be an integer');
  });

  it('refuses a wrong or missing API key with a message that says how to set it', async () => {
    const [wrong, missing, right] = await Promise.all([
      cli(['list'], { ...envB, EMBEDDING_TASKS_API_KEY: 'wrong' }),
      cli(['list'], { EMBEDDING_TASKS_URL: envB.EMBEDDING_TASKS_URL }),
      cli(['list', '--api-key', KEY], { EMBEDDING_TASKS_URL: envB.EMBEDDING_TASKS_URL }),
    ]);
    expect(wrong).toMatchObject({
      code: 1,
      stderr: 'embedding-tasks: the server refused the API key: set --api-key or EMBEDDING_TASKS_API_KEY\n',
    });
    expect(missing).toMatchObject({
      code: 1,
      stderr: 'embedding-tasks: the server needs an API key: set --api-key or EMBEDDING_TASKS_API_KEY\n',
    });
    expect(right.code).toBe(0);
  });

  it('splits a folder of text files by size, and halves its requests on 413 until the server takes them', async () => {
    const folder = join(dir, 'docs');
    await mkdir(join(folder, 'guide'), { recursive: true });
    const sentences = (topic: string, n: number) =>
      Array.from({ length: n }, (_, i) => `The ${topic} step ${i} is short.`).join(' ');
    const files: Record<string, string> = {
      'intro.md': `${sentences('intro', 4)}\n\n${sentences('design', 5)}`,
      'guide/setup.txt': sentences('setup', 12),
      'notes.txt': 'Short note.',
    };
    for (const [name, text] of Object.entries(files)) await writeFile(join(folder, name), text);
    await writeFile(join(folder, '.DS_Store'), 'ignored');

    const submitted = await cli(
      ['submit', folder, '--model', 'any', '--chunk-size', '40', '--batch', '20', '--no-follow'],
      envB,
    );
    expect(submitted.code).toBe(0);
    expect(submitted.stderr).toContain('the server refused 20 chunks in one request (413); sending 10 at a time');
    expect(submitted.stderr).toContain('sending 5 at a time');
    const id = Number(submitted.stdout.trim());

    const expected = ['guide/setup.txt', 'intro.md', 'notes.txt'].flatMap((file) =>
      splitText(files[file], 40).map((text, index) => ({ text, metadata: { file, part: index + 1 } })),
    );
    expect(expected.length).toBeGreaterThan(20);
    const auth = { authorization: `Bearer ${KEY}` };
    const page = await apiOnly.http().get(`/tasks/${id}/chunks?limit=100`).set(auth).expect(200);
    expect(page.body.items.map((item: { text: string }) => item.text)).toEqual(expected.map((chunk) => chunk.text));
    expect(page.body.items.every((item: { text: string }) => item.text.length <= 40)).toBe(true);
    const chunk = await apiOnly.http().get(`/chunks/${page.body.items[2].chunkId}`).set(auth).expect(200);
    expect(chunk.body.metadata).toEqual(expected[2].metadata);
    const task = await apiOnly.http().get(`/tasks/${id}`).set(auth).expect(200);
    expect(task.body).toMatchObject({ name: 'docs', model: 'any', progress: { total: expected.length } });
  });

  it('watches a task until it is cancelled (exit 4), and shows it in status and list', async () => {
    const file = join(dir, 'pending.txt');
    await writeFile(file, 'never embedded here\n');
    const submitted = await cli(['submit', file, '--model', 'any', '--no-follow', '--priority', '7'], envB);
    expect(submitted.code).toBe(0);
    const id = submitted.stdout.trim();
    // Not a terminal: the id alone on stdout, so `ID=$(embedding-tasks submit …)` captures just that.
    expect(submitted.stdout).toBe(`${id}\n`);
    // No worker serves "any" on this API-only instance: submit, status and the progress line say so.
    expect(submitted.stderr).toContain('warning: no worker serves model any; the task waits until a worker');
    expect((await cli(['status', id], envB)).stdout).toContain('  waiting    no worker serves model any\n');

    const watching = startCli(['watch', id, '--interval', '100'], envB);
    await waitFor(async () => (watching.output().includes(`task ${id} pending`) ? true : undefined));
    expect(watching.output()).toContain('no worker serves model any');
    const cancelled = await cli(['cancel', id], envB);
    expect(cancelled).toMatchObject({ code: 0, stdout: `task ${id} cancelled: 0 done, 0 failed of 1\n` });
    const watched = await watching.done;
    expect(watched.code).toBe(4);
    expect(watched.stderr).toContain(`task ${id} cancelled: 0 done, 0 failed of 1`);

    const [status, list, json, again] = await Promise.all([
      cli(['status', id], envB),
      cli(['list', '--status', 'cancelled'], envB),
      cli(['status', id, '--json'], envB),
      cli(['cancel', id], envB),
    ]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^task ${id} "pending.txt"\\n  status     cancelled`));
    expect(status.stdout).toContain('model      any, priority 7');
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(
      /^ID\s+STATUS\s+PROGRESS\s+DONE\s+FAILED\s+TOTAL\s+MODEL\s+CREATED\s+NAME$/,
    );
    expect(list.stdout).toMatch(
      new RegExp(`^${id}\\s+cancelled\\s+0%\\s+0\\s+0\\s+1\\s+any\\s+\\S+\\s+pending.txt$`, 'm'),
    );
    expect(JSON.parse(json.stdout)).toMatchObject({ id: Number(id), status: 'cancelled', priority: 7 });
    expect(again).toMatchObject({
      code: 1,
      stderr: `embedding-tasks: cannot cancel task ${id}: it is cancelled (allowed: pending, running)\n`,
    });
  });

  it('pages the task list with --after, and checks the task counters', async () => {
    const file = join(dir, 'page.txt');
    await writeFile(file, 'a line\n');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await cli(['submit', file, '--model', 'any', '--no-follow'], envB)).stdout.trim());
    const first = await cli(['list', '--limit', '2', '--json'], envB);
    const page = JSON.parse(first.stdout);
    expect(page.items.map((task: { id: number }) => String(task.id))).toEqual([ids[2], ids[1]]);
    const table = await cli(['list', '--limit', '2'], envB);
    expect(table.stderr).toContain(`older ones: --after ${ids[1]}`);
    const next = await cli(['list', '--limit', '1', '--after', ids[1]], envB);
    expect(next.stdout).toMatch(new RegExp(`^${ids[0]}\\s`, 'm'));

    const checked = await cli(['check-counts'], envB);
    expect(checked).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^\d+ tasks checked: every counter matches\n$/),
    });
    const one = await cli(['check-counts', '--task', ids[0], '--json'], envB);
    expect(JSON.parse(one.stdout)).toEqual({ checked: 1, drifted: [], tallyDrifted: [], repaired: 0 });
  });
});
