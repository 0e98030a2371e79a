import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { sleep } from '../../src/common/backoff';
import { fixedVector } from '../lib/fixed-vector';
import { postJson } from '../lib/post-json';
import { ensureModel } from '../../test/fixtures/model/make-model';
import { startBenchApp, startThrowawayPostgres } from '../lib/bench-app';
import { makeCorpus } from '../lib/corpus';
import { peakRssMiB } from '../lib/memory';
import { BenchOptions, BenchPart } from '../lib/part';
import { saveResults } from '../lib/results';
import { round, secondsSince } from '../lib/stats';
import { formatNumber, renderTable } from '../lib/table';
import { checkTarget, TargetCheck } from '../lib/targets';

/**
 * The server's limit: 2,000 tokens a second (about 40 chunks a second of this corpus, well within what the pipeline
 * does), its bucket holding 3 s of it; 50 ms per answer.
 */
const SERVER = { tokensPerMinute: 120_000, burstSeconds: 3, serviceMs: 50 };
/** About 48 tokens per chunk: 2,000 chunks are about 48 s of the limit. Requests of 32 inputs (about 1,500 tokens). */
const DEFAULTS = { texts: 2000 };
const CLIENT = { maxInputs: 32, concurrency: 4 };
/** Steady state: between these fractions of the run's accepted tokens, leaving out start-up and the tail. */
const STEADY = { from: 0.1, to: 0.9 };
const MODEL = 'bench/remote';

/** How the client learns the limit: configured in the models file, from the remote's headers, or not at all. */
const RUNS = [
  { name: 'budget configured', budget: true, headers: false },
  { name: 'limit from x-ratelimit headers', budget: false, headers: true },
  { name: 'no budget, 429 + Retry-After only', budget: false, headers: false },
] as const;
type RunSetup = (typeof RUNS)[number];

export const remotePart: BenchPart = {
  name: 'remote',
  description: 'pipeline through the OpenAI-compatible provider vs a tokens-per-minute limit (429s counted)',
  run: runRemoteBench,
};

interface RunResult {
  name: string;
  chunks: number;
  tokens: number;
  seconds: number;
  /** Accepted tokens per minute between STEADY.from and STEADY.to of the run's tokens, ÷ the limit. */
  steadyRatio: number;
  /** All accepted tokens ÷ (the limit × the run's minutes), from the first chunk claimable to the task's end. */
  endToEndRatio: number;
  requests: number;
  rateLimited: number;
}

interface ServerStats {
  requests: number;
  rateLimited: number;
  acceptedTokens: number;
  accepted: [number, number][];
}

async function runRemoteBench(options: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const texts = options.texts ?? DEFAULTS.texts;
  const log = (line: string) => console.log(line);
  log(`\n== remote: ${texts} chunks per run, ${RUNS.length} runs, ${availableParallelism()} cores ==`);
  log(
    `  server: ${SERVER.tokensPerMinute} tokens/min (bucket of ${SERVER.burstSeconds} s), ${SERVER.serviceMs} ms per answer`,
  );
  const model = await ensureModel('tiny');
  const server = await startServer(model, await fixedVector(model));
  const database = options.databaseUrl
    ? { url: options.databaseUrl, stop: async () => undefined }
    : await startThrowawayPostgres(log);
  const dir = await mkdtemp(join(tmpdir(), 'bench-remote-'));
  const corpus = makeCorpus({ texts, minWords: 8, maxWords: 48, seed: 13 });
  try {
    const results: RunResult[] = [];
    for (const [index, setup] of RUNS.entries()) {
      results.push(await runOnce(setup, index, corpus, server, database.url, dir, log));
      const last = results[results.length - 1];
      log(
        `  ${setup.name}: ${formatNumber(last.steadyRatio, 3)} of the limit steady, ` +
          `${formatNumber(last.endToEndRatio, 3)} end to end, ${last.rateLimited} × 429 in ${last.requests} requests`,
      );
    }
    const summary = summarise(startedAt, started, texts, results, options.databaseUrl);
    const path = await saveResults('remote', summary, startedAt);
    printReport(summary, path);
  } finally {
    server.stop();
    await database.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function runOnce(
  setup: RunSetup,
  index: number,
  corpus: string[],
  server: RateLimitedServer,
  databaseUrl: string,
  dir: string,
  log: (line: string) => void,
): Promise<RunResult> {
  const modelsFile = join(dir, `models-${index}.yaml`);
  const limit = setup.budget ? [`      tokens_per_minute: ${SERVER.tokensPerMinute}`] : [];
  const budget = ['    budget:', `      concurrency: ${CLIENT.concurrency}`, ...limit];
  const entry = [
    'models:',
    `  - id: ${MODEL}`,
    '    backend: openai',
    `    url: ${server.url}/v1`,
    `    max_inputs: ${CLIENT.maxInputs}`,
    ...budget,
  ];
  await writeFile(modelsFile, entry.join('\n'));
  // Before the app starts: its warm-up request must not see headers that this run does not send.
  await server.reset(setup.headers);
  const app = await startBenchApp({
    env: {
      EMBEDDING_MODELS_FILE: modelsFile,
      SENDER_POLL_INTERVAL_MS: '500',
      SENDER_REUSE_EMBEDDINGS: 'false',
      TASK_MAX_CHUNKS_PER_REQUEST: String(Math.max(10000, corpus.length)),
    },
    databaseUrl,
    log,
  });
  try {
    await server.reset(setup.headers);
    const begun = performance.now();
    const chunks = corpus.map((text) => ({ text: `run ${index}: ${text}` }));
    const created = await postJson(`${app.baseUrl}/tasks`, { name: `bench ${setup.name}`, model: MODEL, chunks });
    for (;;) {
      const task = (await (await fetch(`${app.baseUrl}/tasks/${created.id}`)).json()) as { status: string };
      if (task.status === 'completed' || task.status === 'failed') break;
      await sleep(100);
    }
    const seconds = secondsSince(begun);
    return measure(setup.name, corpus.length, seconds, await server.stats());
  } finally {
    await app.close();
  }
}

function measure(name: string, chunks: number, seconds: number, stats: ServerStats): RunResult {
  const perMs = SERVER.tokensPerMinute / 60_000;
  let cumulative = 0;
  const points = stats.accepted.map(([at, tokens]) => ({ at, total: (cumulative += tokens) }));
  const reached = (fraction: number) => points.find((point) => point.total >= fraction * cumulative)!;
  const [from, to] = [reached(STEADY.from), reached(STEADY.to)];
  return {
    name,
    chunks,
    tokens: stats.acceptedTokens,
    seconds: round(seconds, 2),
    steadyRatio: round((to.total - from.total) / (to.at - from.at) / perMs, 3),
    endToEndRatio: round(stats.acceptedTokens / (seconds * 1000) / perMs, 3),
    requests: stats.requests,
    rateLimited: stats.rateLimited,
  };
}

interface RemoteBenchResults {
  part: 'remote';
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, string | number>;
  settings: Record<string, unknown>;
  runs: RunResult[];
  targets: TargetCheck[];
  peakRssMiB: number;
}

function summarise(
  startedAt: Date,
  started: number,
  texts: number,
  runs: RunResult[],
  databaseUrl?: string,
): RemoteBenchResults {
  const configured = runs[0];
  const fromHeaders = runs[1];
  return {
    part: 'remote',
    startedAt: startedAt.toISOString(),
    durationSeconds: Math.round(secondsSince(started)),
    machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    settings: {
      server: { ...SERVER, note: 'token bucket; one fixed real vector (tiny model) per input; tiny tokenizer counts' },
      client: { ...CLIENT, tokenizer: 'none (estimate corrected by usage)' },
      chunksPerRun: texts,
      steadyState: STEADY,
      database: databaseUrl ? 'BENCH_DATABASE_URL' : 'embedded PostgreSQL (temporary)',
    },
    runs,
    targets: [
      checkTarget('budget configured', 'steady accepted tokens/min ÷ limit', configured.steadyRatio, 0.9),
      checkTarget('limit from headers', 'steady accepted tokens/min ÷ limit', fromHeaders.steadyRatio, 0.9),
    ],
    peakRssMiB: peakRssMiB(),
  };
}

function printReport(results: RemoteBenchResults, path: string): void {
  const rows = results.runs.map((run) => [
    run.name,
    formatNumber(run.steadyRatio, 3),
    formatNumber(run.endToEndRatio, 3),
    String(run.rateLimited),
    String(run.requests),
    String(run.tokens),
    run.seconds.toFixed(1),
  ]);
  console.log(
    [
      '',
      'remote — a task through the OpenAI-compatible provider against a server that enforces a tokens-per-minute ' +
        'limit (429 + Retry-After); ratios are accepted tokens per minute ÷ the limit',
      `server ${JSON.stringify(results.settings.server)}; ${String(results.settings.chunksPerRun)} chunks per run; ` +
        `${String(results.settings.database)}`,
      renderTable(['run', 'steady ÷ limit', 'end to end ÷ limit', '429s', 'requests', 'tokens', 'seconds'], rows),
      '',
      ...results.targets.map((t) => `  ${t.pass ? 'PASS' : 'MISS'} ${t.name}: ${t.ratio.toFixed(3)} (≥ ${t.target})`),
      `peak memory (RSS high-water mark of this process): ${results.peakRssMiB} MiB`,
      `took ${results.durationSeconds} s; results: ${relative(process.cwd(), path)} and bench/results/latest-remote.json`,
    ].join('\n'),
  );
}

interface RateLimitedServer {
  url: string;
  reset(headers: boolean): Promise<void>;
  stats(): Promise<ServerStats>;
  stop(): void;
}

async function startServer(model: string, vector: number[]): Promise<RateLimitedServer> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', resolve(__dirname, 'rate-limited-server.ts')],
    {
      env: {
        ...process.env,
        TPM: String(SERVER.tokensPerMinute),
        BURST_SECONDS: String(SERVER.burstSeconds),
        SERVICE_MS: String(SERVER.serviceMs),
        TOKENIZER: join(model, 'tokenizer.json'),
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
    child.once('exit', (code) => fail(new Error(`rate-limited server exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    reset: async (headers) => void (await postJson(`${url}/reset`, { headers })),
    stats: async () => (await (await fetch(`${url}/stats`)).json()) as ServerStats,
    stop: () => void child.kill('SIGTERM'),
  };
}
