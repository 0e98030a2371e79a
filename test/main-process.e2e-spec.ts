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

  it('refuses to start on an invalid setting, naming the variable', async () => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      env: { ...env, PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    expect(await exited(child)).toBe(1);
    expect(output).toContain(
      'Invalid environment variables: PORT must be an integer between 1 and 65535 (got "eighty")',
    );
  }, 60_000);
});
