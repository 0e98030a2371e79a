import { availableParallelism, cpus } from 'node:os';
import { readDefaults } from '../../src/config/config.loader';
import { OnnxModel } from '../../src/embedding/providers/onnx/onnx-model';
import { BatchLimits } from '../../src/embedding/providers/onnx/token-batches';
import { ensureModel } from '../../test/fixtures/model/make-model';
import { RawSession } from '../embedding/raw-session';
import { BenchApp, startBenchApp } from '../lib/bench-app';
import { uniqueCorpus } from '../lib/corpus';
import { LoadLog } from '../lib/load';
import { BenchOptions, BenchPart } from '../lib/part';
import { saveResults } from '../lib/results';
import { secondsSince } from '../lib/stats';
import { SqlFeed } from '../pipeline/sql-feed';
import { CaseResult, runCase } from './cases';
import { httpContender, pipelineContender, providerContender, rawContender, StageTally } from './contenders';
import { EncoderShape, readEncoderShape } from './flops';
import { GemmMix } from './gemm';
import { LimitResults, printReport } from './report';
import { runSweeps } from './sweep';

/** Word counts per length; a word is about 1.5 tokens here, so long fills minilm's 256 and base's 512 tokens. */
const LENGTHS = {
  short: { minWords: 8, maxWords: 24 },
  medium: { minWords: 80, maxWords: 120 },
  long: { minilm: { minWords: 170, maxWords: 200 }, base: { minWords: 330, maxWords: 360 } },
} as const;
type Length = 'short' | 'medium' | 'long';
const SEED = 20260311;
/** Moves every run's texts, so a database kept across runs (BENCH_DATABASE_URL) holds none of them. */
const RUN_SALT = 10_000 * (Date.now() % 100_000);

export const limitPart: BenchPart = {
  name: 'limit',
  description:
    "share of this machine's attainable GEMM rate reached by session.run, provider, HTTP and the pipeline " +
    '(minilm and base, short/medium/long texts, fp32 and int8), then session, batching and tokenizer settings',
  run: runLimitBench,
};

interface ModelSetup {
  size: 'minilm' | 'base';
  dir: string;
  shape: EncoderShape;
  /** Tokens per timed pass: the base model does about a sixth of minilm's tokens per second, so it gets a quarter. */
  tokens: number;
}

async function runLimitBench(options: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const log = (line: string) => console.log(line);
  const load = new LoadLog();
  const rounds = options.rounds ?? 3;
  const scale = Number(process.env.BENCH_LIMIT_TOKENS || 6144);
  const sizes = (process.env.BENCH_LIMIT_MODELS || 'minilm,base').split(',').map((name) => name.trim());
  const models: ModelSetup[] = [];
  for (const size of sizes) {
    if (size !== 'minilm' && size !== 'base') throw new Error(`BENCH_LIMIT_MODELS: minilm or base, not ${size}`);
    const dir = await ensureModel(size);
    models.push({ size, dir, shape: readEncoderShape(dir), tokens: size === 'base' ? scale / 4 : scale });
  }
  log(`\n== limit: ${models.map((m) => m.size).join(', ')}; ${rounds} rounds; ${load.note('start')} ==`);
  const limits = batchLimits();
  const app = await startBenchApp({
    env: { EMBEDDING_MODELS: models.map((m) => `${m.size}=${m.dir}`).join(',') },
    databaseUrl: options.databaseUrl,
    log,
  });
  const feed = await SqlFeed.connect(app.databaseUrl);
  try {
    const cases: CaseResult[] = [];
    if (process.env.BENCH_LIMIT_CASES !== '0') {
      for (const model of models) cases.push(...(await measureModel(model, app, feed, limits, rounds, log)));
    }
    const sweeps = process.env.BENCH_LIMIT_SWEEP === '0' ? undefined : await runSweeps(models, limits, rounds, log);
    load.note('end');
    const results: LimitResults = {
      part: 'limit',
      startedAt: startedAt.toISOString(),
      durationSeconds: Math.round(secondsSince(started)),
      machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
      load: load.samples,
      settings: { rounds, tokensPerPass: Object.fromEntries(models.map((m) => [m.size, m.tokens])), limits },
      cases,
      sweeps,
    };
    printReport(results, await saveResults('limit', results, startedAt));
  } finally {
    await feed.close();
    await app.close();
  }
}

/** fp32 at every length through every layer, then int8 at medium length through session.run and the provider. */
async function measureModel(
  model: ModelSetup,
  app: BenchApp,
  feed: SqlFeed,
  limits: BatchLimits,
  rounds: number,
  log: (line: string) => void,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const fp32 = await openPrecision(model, limits, 'fp32');
  try {
    const contenders = [
      rawContender(fp32.raw, limits, model.shape),
      providerContender('provider.embed', fp32.provider, fp32.tally),
      httpContender(app.baseUrl, model.size),
      pipelineContender(app.baseUrl, feed, model.size),
    ];
    for (const contender of contenders) await contender.pass(corpus(model, 'medium', -1).slice(0, 8), -1);
    for (const length of ['short', 'medium', 'long'] as const) {
      results.push(
        await runCase({
          label: `${model.size} fp32 ${length}`,
          textsOf: (round) => corpus(model, length, round),
          lengthsOf: (texts) => fp32.raw.truncatedLengths(texts),
          shape: model.shape,
          gemm: fp32.gemm,
          contenders,
          rounds,
          log,
        }),
      );
    }
  } finally {
    await fp32.release();
  }
  const int8 = await openPrecision(model, limits, 'int8');
  try {
    const contenders = [
      rawContender(int8.raw, limits, model.shape),
      providerContender('provider.embed', int8.provider, int8.tally),
    ];
    for (const contender of contenders) await contender.pass(corpus(model, 'medium', -1).slice(0, 8), -1);
    results.push(
      await runCase({
        label: `${model.size} int8 medium`,
        textsOf: (round) => corpus(model, 'medium', round),
        lengthsOf: (texts) => int8.raw.truncatedLengths(texts),
        shape: model.shape,
        gemm: int8.gemm,
        contenders,
        rounds,
        log,
      }),
    );
  } finally {
    await int8.release();
  }
  return results;
}

async function openPrecision(model: ModelSetup, limits: BatchLimits, precision: 'fp32' | 'int8') {
  const modelFile = precision === 'int8' ? 'onnx/model_quantized.onnx' : undefined;
  const tally = new StageTally(model.shape);
  const provider = new OnnxModel({ id: model.size, path: model.dir, modelFile }, { ...limits, onStage: tally.observe });
  await provider.load();
  const raw = await RawSession.open(model.dir, { modelFile });
  const gemm = await GemmMix.open(model.shape, precision);
  return {
    provider,
    raw,
    gemm,
    tally,
    release: async () => {
      await provider.close();
      await raw.release();
      await gemm.release();
    },
  };
}

/** Fresh texts per model, length, round and run (so no stored vector is reused), about `model.tokens` in all. */
export function corpus(model: ModelSetup, length: Length, round: number): string[] {
  const words = length === 'long' ? LENGTHS.long[model.size] : LENGTHS[length];
  const texts = Math.max(4, Math.round(model.tokens / (((words.minWords + words.maxWords) / 2) * 1.5 + 2)));
  const lengthSalt = { short: 1, medium: 2, long: 3 }[length];
  return uniqueCorpus({ ...words, texts, seed: SEED + RUN_SALT + 100 * lengthSalt + round });
}

/** The service's batch limits (config/defaults.env). */
function batchLimits(): BatchLimits {
  const defaults = readDefaults();
  return {
    maxBatchTokens: Number(defaults.EMBEDDING_MAX_BATCH_TOKENS),
    maxBatchSize: Number(defaults.EMBEDDING_MAX_BATCH_SIZE),
  };
}

export type { ModelSetup };
