import { availableParallelism, cpus } from 'node:os';
import { readDefaults } from '../../src/config/config.loader';
import { OnnxModel } from '../../src/embedding/providers/onnx/onnx-model';
import { ensureModel } from '../../test/fixtures/model/make-model';
import { ModelSize } from '../../test/fixtures/model/model-blueprints';
import { BenchApp, startBenchApp } from '../lib/bench-app';
import { uniqueCorpus } from '../lib/corpus';
import { peakRssMiB } from '../lib/memory';
import { BenchOptions, BenchPart } from '../lib/part';
import { saveResults } from '../lib/results';
import { secondsSince } from '../lib/stats';
import { Contenders, runPipeline, runProvider, runRounds } from './measure';
import { ModelResult, ModelTarget, PipelineBenchResults, printReport, summariseModel } from './report';
import { runSmallTaskRounds, summariseSmallTask } from './small-task';
import { SqlFeed } from './sql-feed';

/** The embedding part's corpus shape: 5 to 180 words, so texts run from a few tokens past the 256-token limit. */
const CORPUS = { minWords: 5, maxWords: 180, seed: 20240611 };
/** Moves every run's seeds, so a database kept across runs holds no vector of this run's texts. */
const RUN_SALT = 10_000 * (Date.now() % 100_000);

interface ModelPlan {
  size: ModelSize;
  description: string;
  chunks: number;
  warmUpChunks: number;
  /** Interleaved rounds unless --rounds says otherwise: a tiny run takes a second, so more rounds cost nothing. */
  rounds: number;
  target: ModelTarget;
  /** A task of `chunks` beside one HTTP call, `rounds` times; `maxRatio`: the most the task may take, or none. */
  smallTask: { chunks: number; rounds: number; maxRatio?: number };
}

/**
 * tiny: small enough that the pipeline's own work (claim, delivery, bookkeeping) dominates, so it is held to an
 * absolute rate. minilm: all-MiniLM-L6-v2's shape, where inference dominates, so it is held to a share of the provider
 * alone; 512 chunks, not 2,000, because 2 cores embed only about 17 of its chunks a second (5 while busy elsewhere), so
 * a run takes half a minute. BENCH_PIPELINE_MINILM_TEXTS changes that; BENCH_PIPELINE_MODELS=tiny (or minilm) runs one.
 */
function plans(options: BenchOptions, env: NodeJS.ProcessEnv): ModelPlan[] {
  const smallChunks = Number(env.BENCH_PIPELINE_SMALL_TEXTS || 256);
  const all: ModelPlan[] = [
    {
      size: 'tiny',
      description: 'tiny test model (2 layers, 32 wide, 64 tokens)',
      chunks: options.texts ?? 2000,
      warmUpChunks: 500,
      rounds: options.rounds ?? 5,
      target: { kind: 'rate', min: 2000 },
      // Reported, not held to the target: 256 texts embed in about 40 ms here, so the task's database round trips
      // (claim, reuse lookup, delivery: some 25 ms that nothing overlaps in a one-batch task) show.
      smallTask: { chunks: smallChunks, rounds: options.rounds ?? 9 },
    },
    {
      size: 'minilm',
      description: 'minilm (all-MiniLM-L6-v2 shape, seeded random weights, 256 tokens)',
      chunks: Number(env.BENCH_PIPELINE_MINILM_TEXTS || 512),
      warmUpChunks: 32,
      rounds: options.rounds ?? 3,
      target: { kind: 'ratio', min: 0.9 },
      smallTask: { chunks: smallChunks, rounds: options.rounds ?? 5, maxRatio: 1.05 },
    },
  ];
  const wanted = (env.BENCH_PIPELINE_MODELS || 'tiny,minilm').split(',').map((name) => name.trim());
  return all.filter((plan) => wanted.includes(plan.size));
}

export const pipelinePart: BenchPart = {
  name: 'pipeline',
  description: 'SQL insert → claim → embed → in-process receiver, vs provider.embed alone (tiny and minilm)',
  run: runPipelineBench,
};

async function runPipelineBench(options: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const log = (line: string) => console.log(line);
  const models = plans(options, process.env);
  const appEnv = extraAppEnv(process.env.BENCH_PIPELINE_ENV);
  log(`\n== pipeline: ${models.map((m) => `${m.size} ${m.chunks} chunks × ${m.rounds} rounds`).join(', ')} ==`);
  const dirs = new Map<ModelSize, string>();
  for (const plan of models) dirs.set(plan.size, await ensureModel(plan.size));
  const app = await startBenchApp({
    env: { EMBEDDING_MODELS: models.map((m) => `${m.size}=${dirs.get(m.size)}`).join(','), ...appEnv },
    databaseUrl: options.databaseUrl,
    log,
  });
  const feed = await SqlFeed.connect(app.databaseUrl);
  try {
    const results: ModelResult[] = [];
    for (const [index, plan] of models.entries()) {
      results.push(await benchModel(app, feed, plan, dirs.get(plan.size)!, index, log));
    }
    const summary = resultsOf(results, appEnv, app, startedAt, secondsSince(started));
    printReport(summary, await saveResults('pipeline', summary, startedAt));
  } finally {
    await feed.close();
    await app.close();
  }
}

async function benchModel(
  app: BenchApp,
  feed: SqlFeed,
  plan: ModelPlan,
  dir: string,
  index: number,
  log: (line: string) => void,
): Promise<ModelResult> {
  log(`${plan.size}: ${plan.chunks} chunks per run`);
  // The app's own limits and threads (config/defaults.env: EMBEDDING_THREADS=0 is every core).
  const defaults = readDefaults();
  const provider = new OnnxModel(
    { id: plan.size, path: dir },
    {
      maxBatchTokens: Number(defaults.EMBEDDING_MAX_BATCH_TOKENS),
      maxBatchSize: Number(defaults.EMBEDDING_MAX_BATCH_SIZE),
    },
  );
  await provider.load();
  try {
    const contenders: Contenders = { baseUrl: app.baseUrl, feed, provider, model: plan.size };
    // Seeds differ by model, round and bench run (BENCH_DATABASE_URL keeps what earlier runs stored): every run
    // embeds texts no earlier run stored, so nothing is reused.
    const corpus = (round: number, texts: number) =>
      uniqueCorpus({ ...CORPUS, texts, seed: CORPUS.seed + RUN_SALT + 1000 * (index + 1) + round });
    const warmUp = corpus(-1, plan.warmUpChunks);
    await runPipeline(contenders, warmUp, `bench ${plan.size} warm-up`);
    await runProvider(contenders, warmUp);
    const measured = await runRounds(contenders, (round) => corpus(round, plan.chunks), plan.rounds, log);
    const { chunks, rounds, maxRatio } = plan.smallTask;
    const small = await runSmallTaskRounds(contenders, (round) => corpus(100 + round, chunks), rounds, log);
    for (const pipeline of [...measured.map((round) => round.pipeline), ...small.map((round) => round.task)]) {
      if (pipeline.status !== 'completed' || pipeline.storedVectors !== pipeline.chunks) {
        throw new Error(`task ${pipeline.taskId} ${pipeline.status} with ${pipeline.storedVectors} stored vectors`);
      }
    }
    const result = summariseModel(plan.size, plan.description, plan.warmUpChunks, measured, plan.target);
    const smallTask = summariseSmallTask(plan.size, small, maxRatio);
    return { ...result, smallTask, targets: [...result.targets, ...smallTask.targets] };
  } finally {
    await provider.close();
  }
}

/** BENCH_PIPELINE_ENV="SENDER_BATCH_SIZE=128,SENDER_CONCURRENCY=2": settings over the app's defaults, for tuning. */
function extraAppEnv(spec: string | undefined): Record<string, string> {
  if (!spec) return {};
  return Object.fromEntries(
    spec.split(',').map((pair) => {
      const [key, value] = pair.split('=', 2);
      if (!key || value === undefined) throw new Error(`BENCH_PIPELINE_ENV: "${pair}" is not NAME=value`);
      return [key.trim(), value.trim()];
    }),
  );
}

function resultsOf(
  models: ModelResult[],
  appEnv: Record<string, string>,
  app: BenchApp,
  startedAt: Date,
  seconds: number,
): PipelineBenchResults {
  const defaults = { ...readDefaults(), ...appEnv };
  return {
    part: 'pipeline',
    startedAt: startedAt.toISOString(),
    durationSeconds: Math.round(seconds),
    machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    settings: {
      database: app.database,
      sender: {
        batchSize: Number(defaults.SENDER_BATCH_SIZE),
        concurrency: Number(defaults.SENDER_CONCURRENCY),
        reuseEmbeddings: defaults.SENDER_REUSE_EMBEDDINGS,
        receiver: 'in-process (RECEIVER_URL unset)',
      },
      batchLimits: {
        maxBatchTokens: Number(defaults.EMBEDDING_MAX_BATCH_TOKENS),
        maxBatchSize: Number(defaults.EMBEDDING_MAX_BATCH_SIZE),
      },
      intraOpThreads: availableParallelism(),
      appEnvOverrides: appEnv,
      corpus: { ...CORPUS, runSalt: RUN_SALT },
      rounds: Object.fromEntries(models.map((model) => [model.model, model.rounds.length])),
      feed: 'one SQL transaction: task, chunks (unnest), links; timed from COMMIT to mgmt.task.finished_at',
    },
    models,
    targets: models.flatMap((model) => model.targets),
    peakRssMiB: peakRssMiB(),
  };
}
