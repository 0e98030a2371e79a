import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ensureModel } from './fixtures/model/make-model';
import { createEmptyDatabase, TestDatabase } from './database';
import { baseManifest, baseRoleEnv, mainContainer, root } from './kubernetes/manifests';
import { Scrape } from './metrics';
import { ServiceProcess, startService } from './processes';
import { waitFor } from './wait';

/**
 * The roles of deploy/kubernetes as real processes on one database: the migration Job's command on an empty
 * database, then one API and two workers, each with the settings its ConfigMaps give it in the base (only the
 * model, the database and the cache folder swapped for the test's). A task sent to the API is completed by the
 * workers; the API, which serves the same model, never claims. Each process answers its Deployment's probes. The
 * base's files are read directly (it patches nothing), so this runs without kubectl.
 */
describe('API and workers as separate processes, as deployed (e2e)', () => {
  let db: TestDatabase;
  let cacheDir: string;
  let model: string;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    model = await ensureModel('tiny');
    db = await createEmptyDatabase();
    cacheDir = await mkdtemp(join(tmpdir(), 'embedding-tasks-roles-'));
  });
  afterAll(async () => {
    for (const child of processes) child.child.kill('SIGKILL');
    await Promise.all(processes.map((child) => child.exited));
    await db.drop();
    await rm(cacheDir, { recursive: true, force: true });
  });

  /** A role's environment from the base, with the test's model, database and cache. */
  function roleEnv(role: 'api' | 'worker', extra: Record<string, string> = {}): Record<string, string> {
    const env = baseRoleEnv(role);
    return { ...env, DATABASE_URL: db.url, EMBEDDING_MODELS: `tiny=${model}`, MODEL_CACHE_DIR: cacheDir, ...extra };
  }

  /** The Job's command, run from the sources: dist/…js is what npm run build (nest build) makes of src/…ts. */
  function runMigrationJob(): Promise<{ code: number | null; output: string }> {
    const [node, ...args] = mainContainer(baseManifest('migrate/job.yaml')).command as string[];
    expect(node).toBe('node');
    const fromSources = args.map((arg) => arg.replace(/^dist\/(.*)\.js$/, 'src/$1.ts'));
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', ...fromSources], {
      cwd: root,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', DATABASE_URL: db.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (data) => (output += data));
    child.stderr.on('data', (data) => (output += data));
    return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
  }

  const claimed = async (url: string) => {
    const scrape = new Scrape(await (await fetch(`${url}/metrics`)).text());
    return scrape.series('embedding_tasks_chunks_claimed_total').reduce((sum, series) => sum + series.value, 0);
  };

  async function answersProbes(service: ServiceProcess, role: 'api' | 'worker'): Promise<void> {
    const container = mainContainer(baseManifest(`${role}/deployment.yaml`));
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
      expect(probe.httpGet.port).toBe('http');
      const status = await waitFor(async () => {
        const res = await fetch(`${service.url}${probe.httpGet.path}`);
        return res.status === 200 ? res.status : undefined;
      });
      expect(status).toBe(200);
    }
  }

  it('migrates once with the Job, then the workers complete a task sent to the API, which never claims', async () => {
    const migration = await runMigrationJob();
    expect({ code: migration.code, tail: migration.code === 0 ? '' : migration.output.slice(-2000) }).toEqual({
      code: 0,
      tail: '',
    });
    const sql = new Client({ connectionString: db.url });
    await sql.connect();
    const { rows: applied } = await sql.query('SELECT name FROM migrations');
    expect(applied.length).toBeGreaterThan(0);

    const [api, ...workers] = await Promise.all([
      startService(roleEnv('api', { WORKER_ID: 'api' })),
      ...[1, 2].map((n) => startService(roleEnv('worker', { WORKER_ID: `worker-${n}` }), 'serving tiny')),
    ]);
    processes.push(api, ...workers);
    await answersProbes(api, 'api');
    for (const worker of workers) await answersProbes(worker, 'worker');
    // Nobody migrated at start-up: the Job's migrations are all there is.
    expect((await sql.query('SELECT name FROM migrations')).rows).toEqual(applied);

    const chunks = Array.from({ length: 120 }, (_, i) => ({ text: `split roles ${i} ${'word '.repeat(i % 9)}` }));
    const created = await fetch(`${api.url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'roles', model: 'tiny', chunks }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    const task = await waitFor(async () => {
      const body = (await (await fetch(`${api.url}/tasks/${id}`)).json()) as {
        status: string;
        progress: { done: number };
      };
      return ['completed', 'failed'].includes(body.status) ? body : undefined;
    }, 90_000);
    expect(task).toMatchObject({ status: 'completed', progress: { done: 120 } });

    const stored = await sql.query(
      `SELECT count(DISTINCT chunk_id)::int AS n, count(*)::int AS rows FROM mgmt.embedding WHERE model = 'tiny'`,
    );
    expect(stored.rows[0]).toEqual({ n: 120, rows: 120 });
    expect(await claimed(api.url)).toBe(0);
    expect((await claimed(workers[0].url)) + (await claimed(workers[1].url))).toBe(120);
    expect(api.output()).not.toContain('serving tiny');
    await sql.end();
  }, 180_000);
});
