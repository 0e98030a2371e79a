import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureModel } from '../../test/fixtures/model/make-model';
import { baseManifest, baseRoleEnv, mainContainer, root } from '../../test/kubernetes/manifests';
import { freePort } from '../../test/ports';
import { startThrowawayPostgres } from '../lib/bench-app';
import { makeCorpus } from '../lib/corpus';
import { BenchOptions, BenchPart } from '../lib/part';
import { saveResults } from '../lib/results';
import { secondsSince } from '../lib/stats';
import { formatNumber, renderTable } from '../lib/table';
import { checkTarget, TargetCheck } from '../lib/targets';

/**
 * The two roles of deploy/kubernetes as the built service (`node dist/main.js`), each with the settings of its
 * base manifests (config/settings.env + api.env or worker.env), on the minilm test model: how much memory each
 * holds at its peak, against the request and limit its Deployment gives it, and how fast one worker drains a
 * backlog, which sizes the ScaledObject's targetQueryValue.
 */
const CORPUS = { minWords: 5, maxWords: 180, seed: 20240612 };
/** A limit this far above the measured peak leaves room for longer texts and allocator slack. */
const HEADROOM = 1.25;

type Role = 'api' | 'worker';

interface RoleMemory {
  role: Role;
  peakRssMiB: number;
  requestMiB: number;
  limitMiB: number;
  target: TargetCheck;
}

interface RolesResults {
  part: 'roles';
  startedAt: string;
  durationSeconds: number;
  machine: { cpus: number; cpuModel: string; node: string };
  chunks: number;
  requests: number;
  workerChunksPerSecond: number;
  targetQueryValue: number;
  roles: RoleMemory[];
}

interface RoleProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

export const rolesPart: BenchPart = {
  name: 'roles',
  description: 'API and worker of deploy/kubernetes as built processes: peak memory vs their limits, worker chunks/s',
  run: runRolesBench,
};

async function runRolesBench(options: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const log = (line: string) => console.log(line);
  const chunks = options.texts ?? 512;
  const requests = options.requests ?? 50;
  log(`\n== roles: ${chunks} chunks through one worker, ${requests} single-text requests to the API (minilm) ==`);
  log('  building (npm run build)');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'ignore' });
  const model = await ensureModel('minilm');
  const database = options.databaseUrl
    ? { url: options.databaseUrl, stop: async () => undefined }
    : await startThrowawayPostgres(log);
  const cacheDir = await mkdtemp(join(tmpdir(), 'bench-roles-'));
  const children: RoleProcess[] = [];
  try {
    migrate(database.url);
    const env = (role: Role) => ({
      ...baseRoleEnv(role),
      DATABASE_URL: database.url,
      EMBEDDING_MODELS: `minilm=${model}`,
      MODEL_CACHE_DIR: cacheDir,
    });
    const api = await startRole(env('api'), 'Listening on');
    children.push(api);
    const worker = await startRole(env('worker'), 'serving minilm');
    children.push(worker);
    await runTask(api.url, makeCorpus({ texts: 32, ...CORPUS, seed: CORPUS.seed - 1 }));
    const [drained] = await Promise.all([
      runTask(api.url, makeCorpus({ texts: chunks, ...CORPUS })),
      singleRequests(api.url, requests),
    ]);
    const results: RolesResults = {
      part: 'roles',
      startedAt: startedAt.toISOString(),
      durationSeconds: Math.round(secondsSince(started)),
      machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
      chunks,
      requests,
      workerChunksPerSecond: chunks / drained,
      targetQueryValue: Number(scaledObject().spec.triggers[0].metadata.targetQueryValue),
      roles: await Promise.all((['api', 'worker'] as Role[]).map(async (role, i) => memoryOf(role, children[i]))),
    };
    report(results, await saveResults('roles', results, startedAt));
  } finally {
    for (const child of children) child.child.kill('SIGTERM');
    await Promise.all(children.map((child) => child.exited));
    await database.stop();
    await rm(cacheDir, { recursive: true, force: true });
  }
}

const deployment = (role: Role) => baseManifest(`${role}/deployment.yaml`);
const scaledObject = () => baseManifest('worker/scaledobject.yaml');

/** What the migration Job runs, on the built data source. */
function migrate(databaseUrl: string): void {
  const [, ...args] = mainContainer(baseManifest('migrate/job.yaml')).command as string[];
  execFileSync(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl },
    stdio: 'ignore',
  });
}

async function startRole(env: Record<string, string>, readyLine: string): Promise<RoleProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: root,
    env: { PATH: process.env.PATH, NODE_ENV: 'production', ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (data: Buffer) => {
      output += data.toString();
      if (output.includes(readyLine)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`dist/main.js exited with ${code}:\n${output.slice(-2000)}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, exited };
}

/** Creates a task through the API and waits until the worker completed it; seconds from request to completion. */
async function runTask(apiUrl: string, texts: string[]): Promise<number> {
  const started = performance.now();
  const created = await fetch(`${apiUrl}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench roles', model: 'minilm', chunks: texts.map((text) => ({ text })) }),
  });
  if (created.status !== 201) throw new Error(`POST /tasks answered ${created.status}: ${await created.text()}`);
  const { id } = (await created.json()) as { id: number };
  for (;;) {
    const task = (await (await fetch(`${apiUrl}/tasks/${id}`)).json()) as { status: string };
    if (task.status === 'completed') return secondsSince(started);
    if (task.status !== 'pending' && task.status !== 'running') throw new Error(`task ${id} ${task.status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function singleRequests(apiUrl: string, count: number): Promise<void> {
  const texts = makeCorpus({ texts: count, ...CORPUS, seed: CORPUS.seed + 1 });
  for (const text of texts) {
    const res = await fetch(`${apiUrl}/embeddings/single`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
    });
    if (!res.ok) throw new Error(`POST /embeddings/single answered ${res.status}`);
  }
}

/** The process's resident-set high-water mark (Linux /proc), against its Deployment's memory request and limit. */
async function memoryOf(role: Role, child: RoleProcess): Promise<RoleMemory> {
  const status = await readFile(`/proc/${child.child.pid}/status`, 'utf8');
  const peakMiB = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
  const { requests, limits } = deployment(role).spec.template.spec.containers[0].resources;
  const limitMiB = mebibytes(limits.memory);
  return {
    role,
    peakRssMiB: Math.round(peakMiB),
    requestMiB: mebibytes(requests.memory),
    limitMiB,
    target: checkTarget(`${role} memory limit`, 'limit / peak RSS', limitMiB / peakMiB, HEADROOM),
  };
}

function mebibytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`memory quantity ${quantity}: expected Mi or Gi`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
}

function report(results: RolesResults, path: string): void {
  const rows = results.roles.map((r) => [
    r.role,
    String(r.peakRssMiB),
    String(r.requestMiB),
    String(r.limitMiB),
    formatNumber(r.target.ratio, 2),
    `≥ ${HEADROOM} ${r.target.pass ? 'PASS' : 'MISS'}`,
  ]);
  console.log(renderTable(['role', 'peak RSS MiB', 'request MiB', 'limit MiB', 'limit / peak', 'target'], rows));
  const rate = results.workerChunksPerSecond;
  console.log(
    `worker: ${formatNumber(rate)} chunks/s with the base settings (${results.chunks} chunks); targetQueryValue ` +
      `${results.targetQueryValue} is ${formatNumber(results.targetQueryValue / rate, 0)} s of work per replica`,
  );
  console.log(`results: ${path}`);
}
