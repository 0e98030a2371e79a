import { ChildProcess, spawn } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { relative, resolve } from 'node:path';
import { sleep } from '../../src/common/backoff';
import { fixedVector } from '../lib/fixed-vector';
import { postJson } from '../lib/post-json';
import { ensureModel } from '../../test/fixtures/model/make-model';
import { startBenchApp } from '../lib/bench-app';
import { peakRssMiB } from '../lib/memory';
import { BenchOptions, BenchPart } from '../lib/part';
import { saveResults } from '../lib/results';
import { median, round, secondsSince } from '../lib/stats';
import { formatNumber, renderTable } from '../lib/table';
import { checkTarget, TargetCheck } from '../lib/targets';

/**
 * The server's shape: CONCURRENCY batches of BATCH inputs at once, each taking SERVICE_MS, so its ceiling is
 * 8 × 32 ÷ 0.2 s = 1280 inputs/s, high enough that the client must keep it full, low enough for 2 slow cores.
 */
const SERVER = { serviceMs: 200, batch: 32, concurrency: 8 };
/** More in flight than the window takes (4 × 128 = 512 texts ≥ 8 × 32), so the window, not the sender, paces TEI. */
const SENDER = { batchSize: 128, concurrency: 4 };
const DEFAULTS = { texts: 8000, rounds: 3 };
/** Steady state: the pipeline's rate between these fractions of a task done, leaving out start-up and the tail. */
const STEADY = { from: 0.1, to: 0.9 };

export const teiPart: BenchPart = {
  name: 'tei',
  description: 'pipeline through the TEI provider vs a fixed-service-time TEI ceiling and a bare load generator',
  run: runTeiBench,
};

interface PipelineRun {
  seconds: number;
  /** Chunks per second from first claimable chunk to the last one done. */
  endToEnd: number;
  /** Chunks per second between STEADY.from and STEADY.to of the task done. */
  steady: number;
}

async function runTeiBench(options: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const texts = options.texts ?? DEFAULTS.texts;
  const rounds = options.rounds ?? DEFAULTS.rounds;
  const log = (line: string) => console.log(line);
  const ceiling = (SERVER.concurrency * SERVER.batch) / (SERVER.serviceMs / 1000);
  log(`\n== tei: ${texts} chunks per run, ${rounds} interleaved rounds, ${availableParallelism()} cores ==`);
  log(
    `  server: ${SERVER.concurrency} × ${SERVER.batch} inputs per ${SERVER.serviceMs} ms: ceiling ${ceiling} inputs/s`,
  );

  const server = await startFixedTei(await fixedVector(await ensureModel('tiny')));
  const app = await startBenchApp({
    env: {
      EMBEDDING_PROVIDER: 'tei',
      TEI_URL: server.url,
      SENDER_BATCH_SIZE: String(SENDER.batchSize),
      SENDER_CONCURRENCY: String(SENDER.concurrency),
      SENDER_POLL_INTERVAL_MS: '500',
      SENDER_REUSE_EMBEDDINGS: 'false',
      TASK_MAX_CHUNKS_PER_REQUEST: String(Math.max(10000, texts)),
    },
    databaseUrl: options.databaseUrl,
    log,
  });
  try {
    log('  warm-up…');
    await runPipeline(app.baseUrl, Math.min(texts, 1000), 'warm-up');
    await runBare(server.url, SERVER.batch * SERVER.concurrency * 4);
    const pipeline: PipelineRun[] = [];
    const bare: number[] = [];
    for (let index = 0; index < rounds; index++) {
      pipeline.push(await runPipeline(app.baseUrl, texts, `round ${index}`));
      bare.push(await runBare(server.url, texts));
      const last = pipeline[pipeline.length - 1];
      log(
        `  round ${index + 1}: pipeline ${formatNumber(last.steady)} chunks/s steady (${formatNumber(last.endToEnd)} ` +
          `end to end, ${last.seconds.toFixed(2)} s); bare load generator ${formatNumber(bare[bare.length - 1])} inputs/s`,
      );
    }
    const serverStats = await server.stats();
    const results = summarise({
      startedAt,
      started,
      texts,
      rounds,
      ceiling,
      pipeline,
      bare,
      serverStats,
      database: app.database,
    });
    const path = await saveResults('tei', results, startedAt);
    printReport(results, path);
  } finally {
    await app.close();
    server.stop();
  }
}

/** One task of `count` new chunks through the pipeline; progress sampled every 50 ms. */
async function runPipeline(baseUrl: string, count: number, label: string): Promise<PipelineRun> {
  const chunks = Array.from({ length: count }, (_, i) => ({
    text: `${label} ${Date.now()} chunk ${i}: lorem ipsum dolor`,
  }));
  const begun = performance.now();
  const created = await postJson(`${baseUrl}/tasks`, { name: `bench ${label}`, model: 'bench/fixed', chunks });
  const samples: { at: number; done: number }[] = [];
  for (;;) {
    const task = (await (await fetch(`${baseUrl}/tasks/${created.id}`)).json()) as TaskBody;
    samples.push({ at: performance.now(), done: task.progress.done + task.progress.failed });
    if (task.status === 'completed' || task.status === 'failed') break;
    await sleep(50);
  }
  const seconds = secondsSince(begun);
  const reached = (fraction: number) => samples.find((sample) => sample.done >= fraction * count)!;
  const [from, to] = [reached(STEADY.from), reached(STEADY.to)];
  return { seconds, endToEnd: count / seconds, steady: (to.done - from.done) / ((to.at - from.at) / 1000) };
}

/** The same server, hit directly: `concurrency` loops each sending full batches until `count` inputs are done. */
async function runBare(url: string, count: number): Promise<number> {
  const body = JSON.stringify({ inputs: Array.from({ length: SERVER.batch }, (_, i) => `bare ${i}`), truncate: true });
  let remaining = Math.ceil(count / SERVER.batch);
  let done = 0;
  const begun = performance.now();
  const loop = async () => {
    while (remaining-- > 0) {
      const response = await fetch(`${url}/embed`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      await response.arrayBuffer();
      if (response.ok) done += SERVER.batch;
      else remaining++;
    }
  };
  await Promise.all(Array.from({ length: SERVER.concurrency }, loop));
  return done / secondsSince(begun);
}

interface TaskBody {
  status: string;
  progress: { done: number; failed: number };
}

interface FixedTei {
  url: string;
  stats(): Promise<Record<string, number>>;
  stop(): void;
}

async function startFixedTei(vector: number[]): Promise<FixedTei> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', resolve(__dirname, 'fixed-tei-server.ts')],
    {
      env: {
        ...process.env,
        SERVICE_MS: String(SERVER.serviceMs),
        BATCH: String(SERVER.batch),
        CONCURRENCY: String(SERVER.concurrency),
        VECTOR: JSON.stringify(vector),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((done, fail) => {
    child.stdout!.on('data', (data: Buffer) => {
      const match = /listening (\d+)/.exec(data.toString());
      if (match) done(Number(match[1]));
    });
    child.once('exit', (code) => fail(new Error(`fixed TEI server exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    stats: async () => (await (await fetch(`${url}/stats`)).json()) as Record<string, number>,
    stop: () => void child.kill('SIGTERM'),
  };
}

interface TeiBenchResults {
  part: 'tei';
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, string | number>;
  settings: Record<string, unknown>;
  ceilingInputsPerSecond: number;
  pipeline: { runs: PipelineRun[]; medianSteady: number; medianEndToEnd: number };
  bare: { runs: number[]; median: number };
  server: Record<string, number>;
  ratios: { pipelineVsCeiling: number; pipelineVsBare: number; bareVsCeiling: number };
  targets: TargetCheck[];
  peakRssMiB: number;
}

function summarise(input: {
  startedAt: Date;
  started: number;
  texts: number;
  rounds: number;
  ceiling: number;
  pipeline: PipelineRun[];
  bare: number[];
  serverStats: Record<string, number>;
  database: string;
}): TeiBenchResults {
  const { ceiling, pipeline, bare } = input;
  const medianSteady = median(pipeline.map((run) => run.steady));
  const medianBare = median(bare);
  const ratios = {
    pipelineVsCeiling: round(medianSteady / ceiling, 3),
    pipelineVsBare: round(medianSteady / medianBare, 3),
    bareVsCeiling: round(medianBare / ceiling, 3),
  };
  return {
    part: 'tei',
    startedAt: input.startedAt.toISOString(),
    durationSeconds: Math.round(secondsSince(input.started)),
    machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    settings: {
      server: { ...SERVER, note: 'fixed service time per batch; one fixed real vector (tiny model) for every input' },
      sender: SENDER,
      provider: 'EMBEDDING_PROVIDER=tei, window and batch size derived from /info',
      chunksPerRun: input.texts,
      rounds: input.rounds,
      steadyState: STEADY,
      database: input.database,
    },
    ceilingInputsPerSecond: ceiling,
    pipeline: { runs: pipeline, medianSteady, medianEndToEnd: median(pipeline.map((run) => run.endToEnd)) },
    bare: { runs: bare, median: medianBare },
    server: input.serverStats,
    ratios,
    targets: [
      checkTarget('pipeline vs ceiling', 'pipeline steady chunks/s / server ceiling', ratios.pipelineVsCeiling, 0.9),
      checkTarget(
        'pipeline vs bare load',
        'pipeline steady chunks/s / bare load generator',
        ratios.pipelineVsBare,
        0.9,
      ),
    ],
    peakRssMiB: peakRssMiB(),
  };
}

function printReport(results: TeiBenchResults, path: string): void {
  const { pipeline, bare, ratios, settings } = results;
  const rows = [
    ['server ceiling (concurrency × batch ÷ service time)', formatNumber(results.ceilingInputsPerSecond), '-'],
    ['bare load generator (same concurrency)', formatNumber(bare.median), bare.runs.map((r) => r.toFixed(0)).join(' ')],
    [
      'pipeline, steady state (10% → 90% done)',
      formatNumber(pipeline.medianSteady),
      pipeline.runs.map((r) => r.steady.toFixed(0)).join(' '),
    ],
    [
      'pipeline, end to end',
      formatNumber(pipeline.medianEndToEnd),
      pipeline.runs.map((r) => r.endToEnd.toFixed(0)).join(' '),
    ],
  ];
  console.log(
    [
      '',
      `tei — a TEI-protocol server with a fixed service time (it answers one fixed real vector of the tiny model for ` +
        'every input: this measures the client and the pipeline, not a model)',
      `server ${JSON.stringify(settings.server)}; sender ${JSON.stringify(settings.sender)}; ` +
        `${String(settings.chunksPerRun)} chunks per run; ${String(settings.database)}`,
      renderTable(['figure', 'inputs/s (median)', 'runs'], rows),
      `server counters: ${JSON.stringify(results.server)}`,
      '',
      `pipeline / ceiling ${ratios.pipelineVsCeiling.toFixed(3)} (target ≥ 0.9); pipeline / bare load generator ` +
        `${ratios.pipelineVsBare.toFixed(3)} (target ≥ 0.9); bare / ceiling ${ratios.bareVsCeiling.toFixed(3)}`,
      ...results.targets.map((t) => `  ${t.pass ? 'PASS' : 'MISS'} ${t.name}: ${t.ratio.toFixed(3)} (≥ ${t.target})`),
      `peak memory (RSS high-water mark of this process): ${results.peakRssMiB} MiB`,
      `took ${results.durationSeconds} s; results: ${relative(process.cwd(), path)} and bench/results/latest-tei.json`,
    ].join('\n'),
  );
}
