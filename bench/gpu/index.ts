import { availableParallelism, cpus } from 'node:os';
import { readDefaults } from '../../src/config/config.loader';
import { EmbeddingError, EmbeddingErrorCode } from '../../src/embedding/embedding.errors';
import { allEmbedded, ExecutionDevice } from '../../src/embedding/providers/embedding-model';
import { OnnxModel } from '../../src/embedding/providers/onnx/onnx-model';
import { missingCudaProviderFiles } from '../../src/embedding/providers/onnx/onnx-session';
import { ensureModel } from '../../test/fixtures/model/make-model';
import { isModelSize, ModelSize } from '../../test/fixtures/model/model-blueprints';
import { startBenchApp } from '../lib/bench-app';
import { makeCorpus, uniqueCorpus } from '../lib/corpus';
import { Contender, timeInterleaved } from '../lib/interleave';
import { peakRssMiB } from '../lib/memory';
import { BenchOptions, BenchPart } from '../lib/part';
import { saveResults } from '../lib/results';
import { secondsSince } from '../lib/stats';
import { runPipeline, runProvider, runRounds } from '../pipeline/measure';
import { SqlFeed } from '../pipeline/sql-feed';
import { GpuBenchResults, GpuConfig, pipelineTarget, printGpuReport, ThroughputFigure } from './report';

const CORPUS = { minWords: 5, maxWords: 180, seed: 20240611 };
const BATCH_SIZES = [32, 64, 128, 256, 512];
const FILES = { float32: 'onnx/model.onnx', float16: 'onnx/model_fp16.onnx' } as const;

export const gpuPart: BenchPart = {
  name: 'gpu',
  description:
    'CUDA: provider fp32 vs fp16 at batch sizes 32–512 (tokens/s, chunks/s), pipeline vs provider alone; ' +
    'skipped, saying why, without CUDA',
  run: runGpuBench,
};

/**
 * BENCH_GPU_DEVICE=cpu runs the same steps on CPU (with BENCH_GPU_MODEL=tiny, in seconds) to check the part itself
 * on a machine without a GPU; its figures say nothing about a GPU.
 */
async function runGpuBench(options: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const device: ExecutionDevice = process.env.BENCH_GPU_DEVICE === 'cpu' ? 'cpu' : 'cuda';
  const size = modelSize(process.env.BENCH_GPU_MODEL || 'minilm');
  console.log(`\n== gpu: ${size} on ${device} ==`);
  const skipped = device === 'cuda' ? await cudaUnavailable(size) : undefined;
  if (skipped) {
    console.log(`gpu: skipped — ${skipped}`);
    console.log('The GPU figures are missing: run `npm run bench -- gpu` where `npm run install:cuda` has been run.');
    await saveResults('gpu', { part: 'gpu', startedAt: startedAt.toISOString(), skipped }, startedAt);
    return;
  }
  const modelDir = await ensureModel(size);
  const texts = options.texts ?? 2048;
  const rounds = options.rounds ?? 3;
  const corpus = makeCorpus({ texts, ...CORPUS });
  const throughput = await measureThroughput(modelDir, device, corpus, rounds);
  const best = [...throughput].sort((a, b) => b.tokensPerSecond - a.tokensPerSecond)[0];
  console.log(`fastest: ${best.file} at ${best.maxBatchSize} texts per run; the pipeline runs with it`);
  const pipeline = await measurePipeline(size, modelDir, device, best, texts, rounds, options.databaseUrl);
  const results: GpuBenchResults = {
    part: 'gpu',
    startedAt: startedAt.toISOString(),
    durationSeconds: Math.round(secondsSince(started)),
    machine: { device, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    model: size,
    corpus: { texts, ...CORPUS },
    throughput,
    pipeline,
    targets: [pipelineTarget(pipeline)],
    peakRssMiB: peakRssMiB(),
  };
  printGpuReport(results, await saveResults('gpu', results, startedAt));
}

function modelSize(name: string): ModelSize {
  if (!isModelSize(name)) throw new Error(`BENCH_GPU_MODEL must be tiny or minilm, got ${name}`);
  return name;
}

/** Why CUDA cannot run here (missing provider files, no GPU or driver), or undefined when it can. */
async function cudaUnavailable(size: ModelSize): Promise<string | undefined> {
  const missing = missingCudaProviderFiles();
  if (missing.length > 0) {
    return `onnxruntime-node's CUDA provider files are not installed (missing ${missing.join(', ')})`;
  }
  const probe = new OnnxModel({ id: 'probe', path: await ensureModel(size) }, { device: 'cuda' });
  try {
    await probe.load();
    return undefined;
  } catch (error) {
    if (error instanceof EmbeddingError && error.code === EmbeddingErrorCode.DeviceUnavailable) return error.message;
    throw error;
  } finally {
    await probe.close();
  }
}

/** Every file × batch size as a provider of its own, one call over the corpus per run, taking turns. */
async function measureThroughput(
  modelDir: string,
  device: ExecutionDevice,
  corpus: string[],
  rounds: number,
): Promise<ThroughputFigure[]> {
  const configs: GpuConfig[] = Object.entries(FILES).flatMap(([dtype, file]) =>
    BATCH_SIZES.map((maxBatchSize) => ({ dtype, file, maxBatchSize, maxBatchTokens: maxBatchSize * 256 })),
  );
  const providers = configs.map(
    ({ file, maxBatchSize, maxBatchTokens }) =>
      new OnnxModel({ id: 'gpu', path: modelDir, modelFile: file }, { device, maxBatchSize, maxBatchTokens }),
  );
  try {
    // One at a time: loading sessions in parallel only competes for the same device.
    for (const provider of providers) await provider.load();
    const tokens = (await providers[0].embed(corpus)).tokenCounts!.reduce((total, n) => total + n, 0);
    const contenders: Contender[] = providers.map((provider, index) => ({
      name: String(index),
      warmUp: async () => void allEmbedded(await provider.embed(corpus.slice(0, 512))),
      run: async () => void (await provider.embed(corpus)),
    }));
    const timings = await timeInterleaved(contenders, {
      rounds,
      onRound: (name, round, seconds) => {
        const { dtype, maxBatchSize } = configs[Number(name)];
        console.log(`  round ${round + 1}/${rounds}  ${dtype} × ${maxBatchSize}: ${seconds.toFixed(3)} s`);
      },
    });
    return timings.map(({ medianSeconds, bestSeconds, samples }, index) => ({
      ...configs[index],
      samplesSeconds: samples,
      chunksPerSecond: corpus.length / medianSeconds,
      tokensPerSecond: tokens / medianSeconds,
      bestChunksPerSecond: corpus.length / bestSeconds,
    }));
  } finally {
    await Promise.all(providers.map((provider) => provider.close()));
  }
}

/**
 * The app on the device with the fastest configuration (its file through EMBEDDING_CUDA_MODEL_FILE, its batch limits,
 * claims of two runs' worth), tasks fed by SQL, beside the provider alone with the same settings.
 */
async function measurePipeline(
  size: ModelSize,
  modelDir: string,
  device: ExecutionDevice,
  best: GpuConfig,
  texts: number,
  rounds: number,
  databaseUrl: string | undefined,
) {
  const senderBatch = Math.max(Number(readDefaults().SENDER_BATCH_SIZE), 2 * best.maxBatchSize);
  const env = {
    EMBEDDING_MODELS: `${size}=${modelDir}`,
    EMBEDDING_DEVICE: device,
    EMBEDDING_MODEL_FILE: device === 'cuda' ? FILES.float32 : best.file,
    EMBEDDING_CUDA_MODEL_FILE: best.file,
    EMBEDDING_MAX_BATCH_SIZE: String(best.maxBatchSize),
    EMBEDDING_MAX_BATCH_TOKENS: String(best.maxBatchTokens),
    SENDER_BATCH_SIZE: String(senderBatch),
  };
  const app = await startBenchApp({ env, databaseUrl, log: (line) => console.log(line) });
  const feed = await SqlFeed.connect(app.databaseUrl);
  const provider = new OnnxModel(
    { id: size, path: modelDir, modelFile: best.file },
    { device, maxBatchSize: best.maxBatchSize, maxBatchTokens: best.maxBatchTokens },
  );
  try {
    await provider.load();
    // Fresh texts every run (a database kept across runs holds none of them), so nothing is reused.
    const salt = Date.now() % 100_000;
    const corpusOf = (round: number) => uniqueCorpus({ texts, ...CORPUS, seed: CORPUS.seed + salt * 100 + round + 2 });
    const contenders = { baseUrl: app.baseUrl, feed, provider, model: size };
    const warmUp = corpusOf(-1).slice(0, 512);
    await runPipeline(contenders, warmUp, `bench gpu ${size} warm-up`);
    await runProvider(contenders, warmUp);
    const measured = await runRounds(contenders, corpusOf, rounds, (line) => console.log(line));
    return { env, rounds: measured };
  } finally {
    await provider.close();
    await feed.close();
    await app.close();
  }
}
