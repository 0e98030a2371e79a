import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { startBenchApp } from '../lib/bench-app';
import { BenchOptions, BenchPart } from '../lib/part';
import { saveResults } from '../lib/results';
import { quantile, round } from '../lib/stats';
import { formatNumber, renderTable } from '../lib/table';

/**
 * Issue 10: big bodies must not starve the event loop. While the largest POST /tasks the limits allow is received,
 * parsed, validated and inserted, /health/live is asked again and again from a worker thread (its own event loop, so
 * a probe is sent on time however long the app's loop is held, as a kubelet's would be); the worst answer time is
 * what a liveness probe would see (the target: under 200 ms). The app runs in this process, so the event loop's own
 * delay (monitorEventLoopDelay) is measured too: the longest stretch nothing else could run.
 */
const TARGET_MS = 200;
/** Time between the end of one probe and the next. */
const PROBE_GAP_MS = 5;

interface Shape {
  name: string;
  chunks: number;
  chars: number;
}

/** Both just under the default HTTP_BODY_LIMIT (16mb) and within TASK_MAX_CHUNKS_PER_REQUEST / TASK_MAX_TEXT_CHARS. */
const SHAPES: Shape[] = [
  { name: '10,000 chunks of 1,500 characters', chunks: 10_000, chars: 1_500 },
  { name: '160 chunks of 100,000 characters', chunks: 160, chars: 100_000 },
];

interface ShapeResult {
  shape: string;
  bodyMiB: number;
  rounds: number;
  requestSeconds: number;
  probes: number;
  worstLiveMs: number;
  p99LiveMs: number;
  worstLoopDelayMs: number;
  withinTarget: boolean;
}

export const livenessPart: BenchPart = {
  name: 'liveness',
  description: `Worst /health/live answer (target < ${TARGET_MS} ms) while the largest allowed POST /tasks is processed`,
  run: runLivenessBench,
};

/** Distinct texts of `chars` characters (distinct so nothing can be shared or skipped). */
function body(shape: Shape, round: number): Buffer {
  const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma';
  const filler = words.repeat(Math.ceil(shape.chars / words.length) + 1);
  const chunks = Array.from({ length: shape.chunks }, (_, i) => {
    const head = `round ${round} chunk ${i} `;
    return { text: head + filler.slice(0, shape.chars - head.length), metadata: { index: i, source: 'bench' } };
  });
  return Buffer.from(JSON.stringify({ name: `liveness ${round}`, model: 'bench-model', chunks }));
}

/**
 * The client, in plain JavaScript for a worker thread, so that neither sending the body nor probing runs on the
 * app's event loop: it sends the POST and, until it is answered, probes /health/live one probe after another.
 */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { baseUrl, body, gapMs } = workerData;
  const latencies = [];
  let done = false;
  const start = performance.now();
  const post = fetch(baseUrl + '/tasks', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    .then(async (response) => ({ status: response.status, text: await response.text() }))
    .finally(() => (done = true));
  while (!done) {
    const sent = performance.now();
    const response = await fetch(baseUrl + '/health/live');
    await response.arrayBuffer();
    latencies.push(performance.now() - sent);
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  const answer = await post;
  parentPort.postMessage({ ...answer, seconds: (performance.now() - start) / 1000, latencies });
})();
`;

interface ClientResult {
  status: number;
  text: string;
  seconds: number;
  latencies: number[];
}

function postWhileProbing(baseUrl: string, body: Buffer): Promise<ClientResult> {
  const worker = new Worker(CLIENT, { eval: true, workerData: { baseUrl, body, gapMs: PROBE_GAP_MS } });
  return new Promise<ClientResult>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  }).finally(() => worker.terminate());
}

async function measureShape(baseUrl: string, shape: Shape, rounds: number): Promise<ShapeResult> {
  const latencies: number[] = [];
  let loopWorst = 0;
  let seconds = 0;
  let bytes = 0;
  for (let round = 0; round < rounds; round++) {
    const payload = body(shape, round);
    bytes = payload.length;
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const result = await postWhileProbing(baseUrl, payload);
    loop.disable();
    loopWorst = Math.max(loopWorst, loop.max / 1e6);
    if (result.status !== 201) throw new Error(`POST /tasks answered ${result.status}: ${result.text.slice(0, 500)}`);
    latencies.push(...result.latencies);
    seconds += result.seconds;
  }
  const worst = Math.max(...latencies);
  return {
    shape: shape.name,
    bodyMiB: round(bytes / 2 ** 20, 1),
    rounds,
    requestSeconds: round(seconds / rounds, 2),
    probes: latencies.length,
    worstLiveMs: round(worst, 1),
    p99LiveMs: round(quantile(latencies, 0.99), 1),
    worstLoopDelayMs: round(loopWorst, 1),
    withinTarget: worst < TARGET_MS,
  };
}

async function runLivenessBench(options: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const rounds = options.rounds ?? 3;
  console.log(`\n== liveness: /health/live while the largest allowed POST /tasks is processed (${rounds} rounds) ==`);
  const app = await startBenchApp({
    env: { SENDER_ENABLED: 'false' },
    databaseUrl: options.databaseUrl,
    log: console.log,
  });
  try {
    const results: ShapeResult[] = [];
    for (const shape of SHAPES) results.push(await measureShape(app.baseUrl, shape, rounds));
    const header = [
      'body',
      'MiB',
      'request s',
      'probes',
      'worst live ms',
      'p99 ms',
      'worst loop delay ms',
      `< ${TARGET_MS} ms`,
    ];
    const rows = results.map((r) => [
      r.shape,
      formatNumber(r.bodyMiB),
      formatNumber(r.requestSeconds, 2),
      String(r.probes),
      formatNumber(r.worstLiveMs),
      formatNumber(r.p99LiveMs),
      formatNumber(r.worstLoopDelayMs),
      r.withinTarget ? 'yes' : 'NO',
    ]);
    console.log(renderTable(header, rows));
    console.log(`database: ${app.database}`);
    const path = await saveResults(
      'liveness',
      { part: 'liveness', startedAt: startedAt.toISOString(), results },
      startedAt,
    );
    console.log(`results: ${path}`);
  } finally {
    await app.close();
  }
}
