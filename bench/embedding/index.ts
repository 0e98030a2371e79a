import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { resolve } from 'node:path';
import { readDefaults } from '../../src/config/config.loader';
import { ensureModel } from '../../src/embedding/testing/make-model';
import { BatchLimits } from '../../src/embedding/token-batches';
import { makeCorpus } from '../lib/corpus';
import { peakRssMiB } from '../lib/memory';
import { BenchOptions, BenchPart } from '../lib/part';
import { saveResults } from '../lib/results';
import { secondsSince } from '../lib/stats';
import { corpusStats } from './corpus-stats';
import { measureLatency } from './latency';
import { RawSession } from './raw-session';
import { EmbeddingBenchResults, printReport, targetChecks } from './report';
import { measureThroughput } from './throughput';
import { measureTokenization } from './tokenization';

/** Sized so the whole part takes about 3 minutes on 2 slow cores; raise --texts on a bigger machine. */
const DEFAULTS = { texts: 192, rounds: 3, requests: 100 };
const CORPUS = { minWords: 5, maxWords: 180, seed: 20240611 };
const LATENCY_TEXT = { words: 32, seed: 7 };
const WARM_UP = { texts: 32, requests: 10 };
const TOKENIZATION = { rounds: 5, passesPerRun: 10 };

export const embeddingPart: BenchPart = {
  name: 'embedding',
  description: 'provider batch path vs raw session.run vs transformers.js; tokenisation; single-text latency',
  run: runEmbeddingBench,
};

async function runEmbeddingBench(options: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const { texts, rounds, requests } = { ...DEFAULTS, ...definedOnly(options) };
  const log = (line: string) => console.log(line);
  log(`\n== embedding: ${texts} texts, ${rounds} interleaved rounds, ${availableParallelism()} cores ==`);

  const modelDir = await ensureModel('minilm');
  const defaults = readDefaults();
  const limits: BatchLimits = {
    maxBatchTokens: Number(defaults.EMBEDDING_MAX_BATCH_TOKENS),
    maxBatchSize: Number(defaults.EMBEDDING_MAX_BATCH_SIZE),
  };
  const corpus = makeCorpus({ texts, ...CORPUS });
  const raw = await RawSession.open(modelDir);
  try {
    const stats = corpusStats(await raw.tokenLengths(corpus), raw.maxLength, limits);
    log(`model minilm in ${modelDir}; corpus ${stats.tokens.total} tokens, mean ${stats.tokens.mean.toFixed(1)}`);

    log('throughput (each run embeds the whole corpus):');
    const throughput = await measureThroughput({
      modelDir,
      corpus,
      limits,
      rounds,
      raw,
      warmUpTexts: corpus.slice(0, WARM_UP.texts),
      log,
    });
    log('tokenisation…');
    const tokenization = await measureTokenization(
      `${modelDir}/tokenizer.json`,
      modelDir,
      corpus,
      raw.maxLength,
      TOKENIZATION.rounds,
      TOKENIZATION.passesPerRun,
    );
    log('single-text latency…');
    const [latencyText] = makeCorpus({
      texts: 1,
      minWords: LATENCY_TEXT.words,
      maxWords: LATENCY_TEXT.words,
      seed: LATENCY_TEXT.seed,
    });
    const latency = await measureLatency({
      modelDir,
      text: latencyText,
      raw,
      limits,
      requests,
      warmUpRequests: WARM_UP.requests,
      databaseUrl: options.databaseUrl,
      log,
    });

    const results: EmbeddingBenchResults = {
      part: 'embedding',
      startedAt: startedAt.toISOString(),
      durationSeconds: Math.round(secondsSince(started)),
      machine: machineInfo(),
      settings: {
        model: `minilm (all-MiniLM-L6-v2 shape, seeded random weights) ${modelDir}`,
        maxTokens: raw.maxLength,
        batchLimits: limits,
        intraOpThreads: availableParallelism(),
        corpus: { texts, ...CORPUS },
        rounds,
        warmUpTexts: WARM_UP.texts,
        tokenizationRounds: TOKENIZATION.rounds,
        latencyRequests: requests,
        latencyWarmUpRequests: WARM_UP.requests,
      },
      corpus: stats,
      throughput,
      tokenization,
      latency,
      targets: [],
      peakRssMiB: peakRssMiB(),
    };
    results.targets = targetChecks(results);
    const path = await saveResults('embedding', results, startedAt);
    printReport(results, path);
  } finally {
    await raw.release();
  }
}

function machineInfo() {
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
