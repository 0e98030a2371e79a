import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { readDefaults } from '../../src/config/config.loader';
import { ensureModel } from '../../test/fixtures/model/make-model';
import { BatchLimits } from '../../src/embedding/providers/onnx/token-batches';
import { makeCorpus } from '../lib/corpus';
import { peakRssMiB } from '../lib/memory';
import { BenchOptions, BenchPart } from '../lib/part';
import { saveResults } from '../lib/results';
import { secondsSince } from '../lib/stats';
import { corpusStats } from './corpus-stats';
import { measureLatency } from './latency';
import { measureMemory } from './memory';
import { measureQuantization } from './quantization';
import { RawSession } from './raw-session';
import { EmbeddingBenchResults, printReport, targetChecks } from './report';
import { measureThroughput } from './throughput';
import { measureTokenization } from './tokenization';

/** Sized so the part takes about 3 minutes on 2 slow, idle cores; raise --texts on a bigger machine. */
const DEFAULTS = { texts: 128, rounds: 5, requests: 100 };
const CORPUS = { minWords: 5, maxWords: 180, seed: 20240611 };
const LATENCY_TEXT = { texts: 1, minWords: 32, maxWords: 32, seed: 7 };
/** Every text past the 256-token limit, so every run fills the batch limit: memory's worst case. */
const MEMORY_CORPUS = { minWords: 240, maxWords: 240, seed: 11 };
const WARM_UP = { texts: 32, requests: 10 };
const TOKENIZATION = { rounds: 7, passesPerRun: 20 };

export const embeddingPart: BenchPart = {
  name: 'embedding',
  description:
    'provider batch path vs raw session.run vs transformers.js; int8 vs fp32; tokenisation; single-text latency; ' +
    'peak RSS per model file and batch limit',
  run: runEmbeddingBench,
};

interface Setup {
  modelDir: string;
  /** The service's batch limits (config/defaults.env). */
  limits: BatchLimits;
  /** Texts per provider.embed call: the sender's batch (SENDER_BATCH_SIZE), or the whole corpus without one. */
  callSize: number;
  corpus: string[];
  raw: RawSession;
  texts: number;
  rounds: number;
  requests: number;
  databaseUrl?: string;
}

async function runEmbeddingBench(options: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const setup = await prepare(options);
  try {
    const measured = await measure(setup);
    const results = resultsOf(setup, measured, startedAt, Math.round(secondsSince(started)));
    printReport(results, await saveResults('embedding', results, startedAt));
  } finally {
    await setup.raw.release();
  }
}

async function prepare(options: BenchOptions): Promise<Setup> {
  const { texts, rounds, requests } = { ...DEFAULTS, ...definedOnly(options) };
  console.log(`\n== embedding: ${texts} texts, ${rounds} interleaved rounds, ${availableParallelism()} cores ==`);
  const modelDir = await ensureModel('minilm');
  const defaults = readDefaults();
  const limits = {
    maxBatchTokens: Number(defaults.EMBEDDING_MAX_BATCH_TOKENS),
    maxBatchSize: Number(defaults.EMBEDDING_MAX_BATCH_SIZE),
  };
  const callSize = Number(defaults.SENDER_BATCH_SIZE) || texts;
  const corpus = makeCorpus({ texts, ...CORPUS });
  const raw = await RawSession.open(modelDir);
  return { modelDir, limits, callSize, corpus, raw, texts, rounds, requests, databaseUrl: options.databaseUrl };
}

type Measured = Pick<
  EmbeddingBenchResults,
  'corpus' | 'throughput' | 'quantization' | 'tokenization' | 'latency' | 'memory'
>;

async function measure(setup: Setup): Promise<Measured> {
  const { modelDir, limits, callSize, corpus, raw, rounds, requests, databaseUrl } = setup;
  const log = (line: string) => console.log(line);
  const stats = corpusStats(await raw.tokenLengths(corpus), raw.maxLength, limits, callSize);
  log(`model minilm in ${modelDir}; corpus ${stats.tokens.total} tokens, mean ${stats.tokens.mean.toFixed(1)}`);
  log('throughput (each run embeds the whole corpus):');
  const warmUpTexts = corpus.slice(0, WARM_UP.texts);
  const throughput = await measureThroughput({ modelDir, corpus, limits, rounds, callSize, raw, warmUpTexts, log });
  log('int8 against fp32 (each run embeds the whole corpus):');
  const quantization = await measureQuantization({ modelDir, corpus, limits, rounds, callSize, warmUpTexts, log });
  log('tokenisation…');
  const { rounds: tokenizationRounds, passesPerRun } = TOKENIZATION;
  const tokenizerPath = join(modelDir, 'tokenizer.json');
  const tokenization = await measureTokenization(
    tokenizerPath,
    modelDir,
    corpus,
    raw.maxLength,
    tokenizationRounds,
    passesPerRun,
  );
  log('single-text latency…');
  const [text] = makeCorpus(LATENCY_TEXT);
  const warmUpRequests = WARM_UP.requests;
  const latency = await measureLatency({ modelDir, text, raw, limits, requests, warmUpRequests, databaseUrl, log });
  log('peak memory per model file and batch limit (one process each)…');
  const memory = await measureMemory(modelDir, { ...MEMORY_CORPUS, texts: corpus.length }, callSize, log);
  return { corpus: stats, throughput, quantization, tokenization, latency, memory };
}

function resultsOf(setup: Setup, measured: Measured, startedAt: Date, durationSeconds: number): EmbeddingBenchResults {
  const results: EmbeddingBenchResults = {
    part: 'embedding',
    startedAt: startedAt.toISOString(),
    durationSeconds,
    machine: machineInfo(),
    settings: {
      model: `minilm (all-MiniLM-L6-v2 shape, seeded random weights) ${setup.modelDir}`,
      maxTokens: setup.raw.maxLength,
      batchLimits: setup.limits,
      callSize: setup.callSize,
      intraOpThreads: availableParallelism(),
      corpus: { texts: setup.texts, ...CORPUS },
      rounds: setup.rounds,
      warmUpTexts: WARM_UP.texts,
      tokenizationRounds: TOKENIZATION.rounds,
      latencyRequests: setup.requests,
      latencyWarmUpRequests: WARM_UP.requests,
    },
    ...measured,
    targets: [],
    peakRssMiB: peakRssMiB(),
  };
  return { ...results, targets: targetChecks(results) };
}

function machineInfo(): Record<string, string | number> {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    onnxruntimeNode: packageVersion('onnxruntime-node'),
    transformersJs: packageVersion('@huggingface/transformers'),
    tokenizers: packageVersion('tokenizers'),
  };
}

/** Read from the file: not every package exports its package.json. */
function packageVersion(name: string): string {
  const path = resolve(__dirname, '../../node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}
