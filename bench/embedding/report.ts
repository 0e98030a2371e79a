import { relative } from 'node:path';
import { BatchLimits } from '../../src/embedding/providers/onnx/token-batches';
import { perRoundRatio } from '../lib/interleave';
import { checkTarget, TargetCheck } from '../lib/targets';
import { formatNumber, renderTable } from '../lib/table';
import { CorpusStats, PaddedTokens } from './corpus-stats';
import { LatencyResult } from './latency';
import { MemoryFigure } from './memory';
import { QuantizationResult } from './quantization';
import { ThroughputResult } from './throughput';
import { TokenizationResult } from './tokenization';

export interface EmbeddingBenchResults {
  part: 'embedding';
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, string | number>;
  settings: {
    model: string;
    maxTokens: number;
    batchLimits: BatchLimits;
    callSize: number;
    intraOpThreads: number;
    corpus: { texts: number; minWords: number; maxWords: number; seed: number };
    rounds: number;
    warmUpTexts: number;
    tokenizationRounds: number;
    latencyRequests: number;
    latencyWarmUpRequests: number;
  };
  corpus: CorpusStats;
  throughput: ThroughputResult;
  quantization: QuantizationResult;
  tokenization: TokenizationResult;
  latency: LatencyResult;
  memory: MemoryFigure[];
  targets: TargetCheck[];
  peakRssMiB: number;
}

/** Runs of one contender varying more than this (slowest / fastest) mean something else took the cores. */
const NOISY_SPREAD = 1.3;

export function targetChecks({ throughput, quantization, tokenization }: EmbeddingBenchResults): TargetCheck[] {
  const figure = (name: string) => throughput.figures.find((candidate) => candidate.name === name)!;
  const variant = (name: string) => quantization.figures.find((candidate) => candidate.name === name)!;
  const check = (ratioOf: string, a: RateFigure, b: RateFigure, target: number) =>
    checkTarget(
      ratioOf,
      ratioOf,
      a.chunksPerSecond / b.chunksPerSecond,
      target,
      a.bestChunksPerSecond / b.bestChunksPerSecond,
      perRoundRatio(a.samplesSeconds, b.samplesSeconds),
    );
  return [
    check('provider / raw session.run', figure('provider'), figure('raw'), 0.9),
    check('provider / transformers.js pipeline', figure('provider'), figure('transformersJs'), 2.5),
    check('provider tokenizer / transformers.js AutoTokenizer', tokenization.native, tokenization.transformersJs, 2.5),
    check('int8 (model_quantized.onnx) / fp32 (model.onnx), provider.embed', variant('int8'), variant('fp32'), 1.5),
  ];
}

interface RateFigure {
  samplesSeconds: number[];
  chunksPerSecond: number;
  bestChunksPerSecond: number;
}

export function printReport(results: EmbeddingBenchResults, resultsPath: string): void {
  const { settings, corpus, machine } = results;
  const lines = [
    '',
    `embedding — ${settings.model}`,
    `${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}, ` +
      `transformers.js ${machine.transformersJs}, tokenizers ${machine.tokenizers}`,
    `corpus: ${corpus.texts} texts of ${settings.corpus.minWords}–${settings.corpus.maxWords} words (seed ` +
      `${settings.corpus.seed}); ${corpus.tokens.total} tokens, mean ${formatNumber(corpus.tokens.mean)}, median ` +
      `${corpus.tokens.median}, max ${corpus.tokens.max}; ${corpus.truncated} truncated at ${settings.maxTokens}`,
    `tokens fed incl. padding: provider's plan ${padded(corpus.padded.provider)}; length-sorted full batches ` +
      `${padded(corpus.padded.fullBatches)}; corpus-order batches of ${settings.batchLimits.maxBatchSize} ` +
      `(transformers.js) ${padded(corpus.padded.corpusOrder)}`,
    '',
    ...throughputSection(results),
    '',
    ...quantizationSection(results),
    '',
    ...tokenizationSection(results),
    '',
    ...latencySection(results.latency),
    '',
    ...memorySection(results),
    '',
    ...targetSection(results.targets),
    '',
    `peak memory (RSS high-water mark of this process): ${results.peakRssMiB} MiB`,
    `took ${results.durationSeconds} s; results: ${relative(process.cwd(), resultsPath)} and bench/results/latest-embedding.json`,
  ];
  console.log(lines.join('\n'));
}

function throughputSection({ throughput, settings }: EmbeddingBenchResults): string[] {
  const provider = throughput.figures.find((figure) => figure.name === 'provider')!;
  const rows = throughput.figures.map((figure) => [
    figure.label,
    formatNumber(figure.chunksPerSecond),
    formatNumber(figure.medianSeconds, 2),
    figure.samplesSeconds.map((seconds) => seconds.toFixed(2)).join(' '),
    formatNumber(provider.chunksPerSecond / figure.chunksPerSecond, 2),
    formatNumber(figure.bestChunksPerSecond),
  ]);
  const { sessionOptions, dtype, maxLength } = throughput.transformersJs;
  const options = Object.entries(sessionOptions)
    .map(([key, value]) => `${key} ${value}`)
    .join(', ');
  const spreads = throughput.figures.map(
    ({ samplesSeconds }) => Math.max(...samplesSeconds) / Math.min(...samplesSeconds),
  );
  const worst = Math.max(...spreads);
  const noise =
    worst > NOISY_SPREAD
      ? [`noisy machine: one contender's runs varied ×${worst.toFixed(1)}; the medians absorb a minority of slow runs`]
      : [];
  return [
    `Batch throughput — ${settings.rounds} rounds over all ${settings.corpus.texts} texts, in provider.embed calls of ` +
      `${settings.callSize} texts (the sender's batch), contenders taking turns call by call; figure: per call the ` +
      `median over rounds, summed; batches ≤ ${settings.batchLimits.maxBatchSize} texts / ` +
      `${settings.batchLimits.maxBatchTokens} padded tokens; ${settings.intraOpThreads} intra-op threads`,
    renderTable(['contender', 'chunks/s', 'median s', 'rounds s', 'provider ×', 'best chunks/s'], rows),
    `transformers.js ORT session (pipeline session_options): ${options}; dtype ${dtype}; max_length ${maxLength}; ` +
      'batches in corpus order',
    ...noise,
  ];
}

function quantizationSection({ quantization, settings }: EmbeddingBenchResults): string[] {
  const fp32 = quantization.figures.find((figure) => figure.name === 'fp32')!;
  const rows = quantization.figures.map((figure) => [
    figure.label,
    figure.dtype,
    formatNumber(figure.fileMiB, 1),
    formatNumber(figure.chunksPerSecond),
    formatNumber(figure.chunksPerSecond / fp32.chunksPerSecond, 2),
    formatNumber(perRoundRatio(figure.samplesSeconds, fp32.samplesSeconds), 2),
    formatNumber(figure.cosine.mean, 5),
    formatNumber(figure.cosine.min, 5),
  ]);
  const integerOps = (ops: Record<string, number>) =>
    Object.entries(ops)
      .filter(([op]) => /Integer|Quantize|QLinear|QAttention|QGemm/.test(op) || op === 'MatMul' || op === 'FusedMatMul')
      .map(([op, count]) => `${op} ${count}`)
      .join(', ');
  return [
    `int8 against fp32 — provider.embed over the ${settings.corpus.texts} texts in calls of ${settings.callSize}, ` +
      `${settings.rounds} rounds, variants taking turns call by call; cosine of each text's vector to its fp32 vector`,
    renderTable(['variant', 'dtype', 'MiB', 'chunks/s', '× fp32', 'per round', 'cos mean', 'cos min'], rows),
    'Matrix products in the graph onnxruntime runs after its optimisations (optimizedModelFilePath):',
    ...quantization.figures.map((figure) => `  ${figure.name}: ${integerOps(figure.optimizedOps)}`),
  ];
}

function memorySection({ memory, settings }: EmbeddingBenchResults): string[] {
  const rows = memory.map((figure) => [
    figure.file,
    `${figure.maxBatchTokens} / ${figure.maxBatchSize}`,
    formatNumber(figure.loadedMiB, 0),
    formatNumber(figure.peakMiB, 0),
    formatNumber(figure.peakMiB - figure.loadedMiB, 0),
    formatNumber(settings.corpus.texts / figure.seconds, 1),
  ]);
  return [
    `Peak memory — one process per model file and batch limit (EMBEDDING_MAX_BATCH_TOKENS / EMBEDDING_MAX_BATCH_SIZE), ` +
      `${settings.corpus.texts} texts of 240 words (all cut at ${settings.maxTokens} tokens, so every run fills the ` +
      `limit: the worst case) in calls of ${settings.callSize}; RSS after load and warm-up, and its high-water mark ` +
      '(maxRSS)',
    renderTable(['file', 'tokens / texts', 'loaded MiB', 'peak MiB', 'peak − loaded', 'chunks/s'], rows),
  ];
}

function tokenizationSection({ tokenization, settings }: EmbeddingBenchResults): string[] {
  const { native, transformersJs, passesPerRun } = tokenization;
  return [
    `Tokenisation — median of ${settings.tokenizationRounds} interleaved runs of ${passesPerRun} passes over the corpus; ` +
      `ids truncated to ${settings.maxTokens}, no padding`,
    renderTable(
      ['tokenizer', 'chunks/s', 'runs s', 'best chunks/s'],
      [
        [
          'provider TextTokenizer (native tokenizers)',
          formatNumber(native.chunksPerSecond, 0),
          runs(native.samplesSeconds),
          formatNumber(native.bestChunksPerSecond, 0),
        ],
        [
          'transformers.js AutoTokenizer',
          formatNumber(transformersJs.chunksPerSecond, 0),
          runs(transformersJs.samplesSeconds),
          formatNumber(transformersJs.bestChunksPerSecond, 0),
        ],
      ],
    ),
  ];
}

function latencySection(latency: LatencyResult): string[] {
  const row = (label: string, figure: { p50Ms: number; p95Ms: number; minMs: number; requests: number }) => [
    label,
    formatNumber(figure.p50Ms, 2),
    formatNumber(figure.p95Ms, 2),
    formatNumber(figure.minMs, 2),
    String(figure.requests),
  ];
  const rows = [
    latency.http
      ? row(`${latency.http.endpoint} (HTTP)`, latency.http)
      : ['POST /embeddings/single', 'skipped', '', '', ''],
    row('raw session.run, same text', latency.rawSessionRun),
  ];
  return [
    `Single-text latency — one ${latency.text.words}-word text (${latency.text.tokens} tokens), requests alternated with ` +
      'raw runs after warm-up',
    renderTable(['path', 'p50 ms', 'p95 ms', 'min ms', 'n'], rows),
    ...(latency.skipped ? [`HTTP skipped: ${latency.skipped}`] : []),
    ...(latency.http ? [`app database: ${latency.http.database}`] : []),
  ];
}

function targetSection(targets: TargetCheck[]): string[] {
  const rows = targets.map((target) => [
    target.ratioOf,
    formatNumber(target.ratio, 2),
    `≥ ${target.target}`,
    target.pass ? 'PASS' : 'MISS',
    formatNumber(target.perRoundRatio ?? NaN, 2),
    formatNumber(target.bestRunRatio ?? NaN, 2),
  ]);
  return [
    'Targets — decided on the ratio of medians; on a busy machine the per-round and best-run ratios are steadier',
    renderTable(['ratio', 'measured', 'target', 'result', 'per-round', 'best runs'], rows),
  ];
}

function padded({ tokens, batches, realShare }: PaddedTokens): string {
  return `${tokens} in ${batches} runs (${percent(realShare)} real)`;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}

function runs(samples: number[]): string {
  return samples.map((seconds) => seconds.toFixed(3)).join(' ');
}
