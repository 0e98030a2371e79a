import { availableParallelism, cpus } from 'node:os';
import { ensureModel } from '../../test/fixtures/model/make-model';
import { startThrowawayPostgres } from '../lib/bench-app';
import { formatLoad, loadAverage } from '../lib/load';
import { BenchOptions, BenchPart } from '../lib/part';
import { saveResults } from '../lib/results';
import { median, round } from '../lib/stats';
import { formatNumber, renderTable } from '../lib/table';
import { AttackContext, ATTACKS } from './attacks';
import { startProbes } from './probe';
import { serviceRoot, ServiceUnderAttack, startService } from './service';

/**
 * Issue 20: nothing a caller sends may take the service down or starve it. The real service runs as a process of its
 * own with API_KEY set and a heap of HEAP_MIB; each attack is sent while /health/live and the other routes are probed
 * from a worker thread. Per attack: the answers, the peak RSS (the kernel's VmHWM, reset before each attack), the
 * worst liveness answer against its idle median (target: at most 200 ms above it), the other routes' statuses and
 * whether the process is still alive. BENCH_HOSTILE_ROOT starts another checkout's service (a "before" run).
 */
const KEY = 'hostile-bench-key';
const MODEL = 'minilm';
const HEAP_MIB = 1024;
const LIVE_TARGET_MS = 200;
const EXPORT_CHUNKS = 3000;

interface AttackResult {
  attack: string;
  answers: Record<string, number>;
  seconds: number;
  peakRssMiB: number;
  worstLiveMs: number;
  overIdleMs: number;
  /** Probes of /health/live that got no 200. */
  liveFailures: Record<string, number>;
  others: Record<string, Record<string, number>>;
  alive: boolean;
}

export const hostilePart: BenchPart = {
  name: 'hostile',
  description: 'Issue 20 attacks on the service as a process (API_KEY set): peak RSS, worst liveness, other routes',
  run: runHostileBench,
};

async function runHostileBench(options: BenchOptions): Promise<void> {
  const startedAt = new Date();
  console.log(`\n== hostile: issue 20's attacks on ${serviceRoot()} (heap ${HEAP_MIB} MiB) ==`);
  const database = options.databaseUrl
    ? { url: options.databaseUrl, stop: async () => undefined }
    : await startThrowawayPostgres(console.log);
  let service: ServiceUnderAttack | undefined;
  try {
    const env = {
      DATABASE_URL: database.url,
      API_KEY: KEY,
      EMBEDDING_MODELS: `${MODEL}=${await ensureModel(MODEL)}`,
      NODE_OPTIONS: `--max-old-space-size=${HEAP_MIB}`,
    };
    service = await startService(env);
    const exportTaskId = await exportTask(service);
    const idle = await idleLiveness(service);
    const idleRss = Math.round(await service.rssMiB());
    console.log(
      `  idle: /health/live median ${formatNumber(idle)} ms, RSS ${idleRss} MiB; ${formatLoad(loadAverage())}`,
    );
    const results: AttackResult[] = [];
    for (const attack of ATTACKS) {
      // A service that an attack took down is started again (as an orchestrator would) for the next one.
      if (!service.alive()) service = await startService(env);
      const context: AttackContext = { url: service.url, key: KEY, model: MODEL, exportTaskId };
      results.push(await runAttack(service, context, attack.name, attack.prepare(context), idle));
      console.log(`  ${attack.name}: done; ${formatLoad(loadAverage())}`);
    }
    report(results, idle);
    const machine = { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version };
    const saved = {
      part: 'hostile',
      startedAt,
      root: serviceRoot(),
      heapMiB: HEAP_MIB,
      idleLiveMs: idle,
      idleRss,
      machine,
    };
    console.log(`results: ${await saveResults('hostile', { ...saved, load: loadAverage(), results }, startedAt)}`);
  } finally {
    await service?.stop();
    await database.stop();
  }
}

async function runAttack(
  service: ServiceUnderAttack,
  context: AttackContext,
  name: string,
  send: () => Promise<string[]>,
  idleMs: number,
): Promise<AttackResult> {
  await service.resetPeak();
  const probes = startProbes(context.url, context.key, context.model, true);
  const started = performance.now();
  const answers = await send();
  const seconds = (performance.now() - started) / 1000;
  // The other routes are probed a moment longer: what the attack left behind counts too.
  await new Promise((done) => setTimeout(done, 2000));
  const { liveMs, liveFailures, others } = await probes.stop();
  const worst = Math.max(...liveMs);
  return {
    attack: name,
    answers: tally(answers),
    seconds: round(seconds, 1),
    peakRssMiB: service.alive() ? Math.round(await service.peakRssMiB()) : NaN,
    worstLiveMs: round(worst, 1),
    overIdleMs: round(worst - idleMs, 1),
    liveFailures,
    others,
    alive: service.alive(),
  };
}

/** A completed task with stored vectors to export; the service's own sender embeds it. */
async function exportTask(service: ServiceUnderAttack): Promise<number> {
  const chunks = Array.from({ length: EXPORT_CHUNKS }, (_, index) => ({ text: `export chunk ${index} of the bench` }));
  const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
  const body = JSON.stringify({ name: 'hostile export', model: MODEL, chunks });
  const created = await fetch(`${service.url}/tasks`, { method: 'POST', headers, body });
  if (created.status !== 201) throw new Error(`POST /tasks answered ${created.status}: ${await created.text()}`);
  const { id } = (await created.json()) as { id: number };
  for (;;) {
    const task = (await (await fetch(`${service.url}/tasks/${id}`, { headers })).json()) as { status: string };
    if (task.status === 'completed') return id;
    if (task.status !== 'pending' && task.status !== 'running') throw new Error(`export task ${id} ${task.status}`);
    await new Promise((done) => setTimeout(done, 500));
  }
}

/** The median of /health/live answers over 3 s of an idle service. */
async function idleLiveness(service: ServiceUnderAttack): Promise<number> {
  const probes = startProbes(service.url, KEY, MODEL, false);
  await new Promise((done) => setTimeout(done, 3000));
  return round(median((await probes.stop()).liveMs), 2);
}

function tally(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  values.forEach((value) => (counts[value] = (counts[value] ?? 0) + 1));
  return counts;
}

const formatTally = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([value, count]) => `${value}x${count}`)
    .join(' ') || '-';

function report(results: AttackResult[], idleMs: number): void {
  const header = [
    'attack',
    'answers',
    's',
    'peak RSS MiB',
    'worst live ms',
    'live failed',
    'over idle ms',
    'GET /tasks',
    'POST /tasks',
    'alive',
  ];
  const rows = results.map((r) => [
    r.attack,
    formatTally(r.answers),
    formatNumber(r.seconds),
    formatNumber(r.peakRssMiB, 0),
    formatNumber(r.worstLiveMs),
    formatTally(r.liveFailures),
    `${formatNumber(r.overIdleMs)}${r.overIdleMs <= LIVE_TARGET_MS ? '' : ' (!)'}`,
    formatTally(r.others['GET /tasks']),
    formatTally(r.others['POST /tasks']),
    r.alive ? 'yes' : 'NO',
  ]);
  console.log(renderTable(header, rows));
  console.log(`idle /health/live median ${formatNumber(idleMs)} ms; (!) marks more than ${LIVE_TARGET_MS} ms over it`);
}
