import { ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';

/**
 * The real entry point (src/main.ts) in a child process, on its embedded defaults: no DATABASE_URL, so it starts
 * its own PostgreSQL. This is what `npm start` does on a fresh machine.
 */
describe('npm start on the embedded defaults (e2e)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let base: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'embedding-tasks-main-'));
    await chmod(dir, 0o755);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const { DATABASE_URL, API_KEY, ...rest } = process.env;
    env = {
      ...rest,
      LOG_FORMAT: 'json',
      PORT: String(port),
      HOST: '127.0.0.1',
      EMBEDDED_PG_DATA_DIR: join(dir, 'postgres'),
      EMBEDDED_PG_PORT: String(await freePort()),
    };
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  function start(): { child: ChildProcess; ready: Promise<void>; output: () => string } {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      env: { ...env, TS_NODE_TRANSPILE_ONLY: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (data: Buffer) => {
        output += data.toString();
        process.stdout.write(data); // the test's own output, shown when it fails
        if (output.includes('Listening on')) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
    });
    return { child, ready, output: () => output };
  }

  const exited = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  async function postmasterPid(): Promise<number | undefined> {
    const text = await readFile(join(dir, 'postgres', 'postmaster.pid'), 'utf8').catch(() => undefined);
    return text ? Number(text.split('\n')[0]) : undefined;
  }

  it('serves /health/ready and /apidocs, keeps data across a restart and stops PostgreSQL on SIGTERM', async () => {
    const first = start();
    await first.ready;
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    expect((await fetch(`${base}/apidocs/`)).status).toBe(200);
    const created = await fetch(`${base}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'kept', model: 'm', chunks: [{ text: 'survives restarts' }] }),
    });
    const task = (await created.json()) as { id: number };
    const firstExit = exited(first.child);
    first.child.kill('SIGTERM');
    expect(await firstExit).toBe(0);
    expect(await postmasterPid()).toBeUndefined();
    expectJsonLines(first.output());
    const up = jsonLines(first.output()).find((line) => String(line.msg).startsWith('Embedded PostgreSQL is up'));
    const passwordFile = join(dir, '.postgres.password');
    expect(up?.msg).toBe(
      `Embedded PostgreSQL is up: postgres://postgres:****@127.0.0.1:${env.EMBEDDED_PG_PORT}/embedding_tasks ` +
        `(password in ${passwordFile})`,
    );
    expect(first.output()).not.toContain(await readFile(passwordFile, 'utf8'));

    const second = start();
    await second.ready;
    const again = await (await fetch(`${base}/tasks/${task.id}`)).json();
    expect(again).toMatchObject({ name: 'kept', progress: { total: 1 } });
    const secondExit = exited(second.child);
    second.child.kill('SIGINT');
    expect(await secondExit).toBe(0);
  }, 120_000);

  it('starts again after being killed with SIGKILL, taking over the orphaned PostgreSQL', async () => {
    const first = start();
    await first.ready;
    const orphan = await postmasterPid();
    const killed = exited(first.child);
    first.child.kill('SIGKILL');
    await killed;
    expect(orphan).toBeDefined();

    const second = start();
    await second.ready;
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    expect(await postmasterPid()).not.toBe(orphan);
    const secondExit = exited(second.child);
    second.child.kill('SIGTERM');
    expect(await secondExit).toBe(0);
  }, 120_000);

  /** Runs src/main.ts to its exit: its exit code and everything it printed. */
  async function run(extra: NodeJS.ProcessEnv, args: string[] = []): Promise<{ code: number | null; output: string }> {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts', ...args], {
      env: { ...env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    return { code: await exited(child), output };
  }

  it('refuses to start on an invalid setting, naming the variable, in a JSON line', async () => {
    const { code, output } = await run({ PORT: 'eighty' });
    expect(code).toBe(1);
    expectJsonLines(output);
    expect(jsonLines(output).map((line) => line.msg)).toContain(
      'Invalid environment variables: PORT must be an integer between 1 and 65535 (got "eighty")',
    );
  }, 60_000);

  it('prints its version (package.json) with --version, and exits', async () => {
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(await run({ PORT: 'eighty' }, ['--version'])).toEqual({ code: 0, output: `${version}\n` });
  }, 60_000);

  it('names why the hub could not be reached, and logs no pool error for the database it stops itself', async () => {
    const hubUrl = `http://127.0.0.1:${await freePort()}`;
    const { code, output } = await run({
      EMBEDDING_MODELS: 'acme/not-cached',
      MODEL_HUB_URL: hubUrl,
      MODEL_CACHE_DIR: join(dir, 'models'),
    });
    expect(code).toBe(1);
    expectJsonLines(output);
    expect(output).toContain('connection refused [ECONNREFUSED]');
    expect(output).not.toContain('pool raised an error');
    expect(output).not.toContain('fetch failed');
  }, 120_000);
});

/** Every line a JSON object, as a log collector reads them (LOG_FORMAT=json) from the first. */
function jsonLines(output: string): { msg?: unknown; notJson?: string }[] {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as { msg?: unknown; notJson?: string };
      } catch {
        return { notJson: line };
      }
    });
}

function expectJsonLines(output: string): void {
  expect(jsonLines(output).filter((line) => 'notJson' in line)).toEqual([]);
}
