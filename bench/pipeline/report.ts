import { relative } from 'node:path';
import { perRoundRatio } from '../lib/interleave';
import { median } from '../lib/stats';
import { formatNumber, renderTable } from '../lib/table';
import { checkTarget, TargetCheck } from '../lib/targets';
import { Round } from './measure';
import { SmallTaskResult, smallTaskSection } from './small-task';

/** What each model is held to: a share of the provider alone, or an absolute end-to-end rate. */
export type ModelTarget = { kind: 'ratio'; min: number } | { kind: 'rate'; min: number };

export interface StageFigure {
  stage: string;
  /** Median over the rounds of the stage's summed seconds in one pipeline run (stages overlap in time). */
  seconds: number;
  observations: number;
  microsecondsPerChunk: number;
}

export interface ModelResult {
  model: string;
  description: string;
  chunks: number;
  warmUpChunks: number;
  rounds: Round[];
  pipeline: { medianSeconds: number; chunksPerSecond: number; bestChunksPerSecond: number };
  provider: { medianSeconds: number; chunksPerSecond: number; bestChunksPerSecond: number };
  /** Pipeline chunks/s ÷ provider-alone chunks/s: from the medians, per round (median), from each side's fastest run. */
  ratio: number;
  perRoundRatio: number;
  bestRunRatio: number;
  /** Median over rounds of (pipeline seconds − provider seconds) ÷ chunks: what the pipeline adds per chunk. */
  overheadMsPerChunk: number;
  stages: StageFigure[];
  /** One small task beside one HTTP call embedding the same texts. */
  smallTask?: SmallTaskResult;
  targets: TargetCheck[];
}

export interface PipelineBenchResults {
  part: 'pipeline';
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, string | number>;
  settings: Record<string, unknown>;
  models: ModelResult[];
  targets: TargetCheck[];
  peakRssMiB: number;
}

const STAGE_ORDER = ['claim', 'claim_empty', 'tokenize', 'inference', 'delivery', 'settle'];

export function summariseModel(
  model: string,
  description: string,
  warmUpChunks: number,
  rounds: Round[],
  target: ModelTarget,
): ModelResult {
  const chunks = rounds[0].pipeline.chunks;
  const side = (seconds: number[]) => ({
    medianSeconds: median(seconds),
    chunksPerSecond: chunks / median(seconds),
    bestChunksPerSecond: chunks / Math.min(...seconds),
  });
  const runSeconds = (contender: 'pipeline' | 'provider') => rounds.map((round) => round[contender].seconds);
  const [pipeline, provider] = [side(runSeconds('pipeline')), side(runSeconds('provider'))];
  const result = {
    model,
    description,
    chunks,
    warmUpChunks,
    rounds,
    pipeline,
    provider,
    ratio: pipeline.chunksPerSecond / provider.chunksPerSecond,
    perRoundRatio: perRoundRatio(runSeconds('pipeline'), runSeconds('provider')),
    bestRunRatio: pipeline.bestChunksPerSecond / provider.bestChunksPerSecond,
  };
  const overheadMsPerChunk = median(
    rounds.map((round) => ((round.pipeline.seconds - round.provider.seconds) / chunks) * 1000),
  );
  return { ...result, overheadMsPerChunk, stages: stageFigures(rounds, chunks), targets: targetsOf(result, target) };
}

function stageFigures(rounds: Round[], chunks: number): StageFigure[] {
  const names = new Set(rounds.flatMap((round) => Object.keys(round.pipeline.stages)));
  const ordered = [
    ...STAGE_ORDER.filter((stage) => names.has(stage)),
    ...[...names].filter((s) => !STAGE_ORDER.includes(s)),
  ];
  return ordered.map((stage) => {
    const seconds = median(rounds.map((round) => round.pipeline.stages[stage]?.seconds ?? 0));
    const observations = median(rounds.map((round) => round.pipeline.stages[stage]?.count ?? 0));
    return { stage, seconds, observations, microsecondsPerChunk: (seconds / chunks) * 1e6 };
  });
}

function targetsOf(
  result: Pick<ModelResult, 'model' | 'pipeline' | 'ratio' | 'perRoundRatio' | 'bestRunRatio'>,
  target: ModelTarget,
): TargetCheck[] {
  if (target.kind === 'ratio') {
    return [
      checkTarget(
        `${result.model}: pipeline / provider alone`,
        `${result.model} pipeline chunks/s / provider.embed chunks/s`,
        result.ratio,
        target.min,
        result.bestRunRatio,
        result.perRoundRatio,
      ),
    ];
  }
  return [
    checkTarget(
      `${result.model}: pipeline end to end`,
      `${result.model} pipeline chunks/s (absolute)`,
      result.pipeline.chunksPerSecond,
      target.min,
      result.pipeline.bestChunksPerSecond,
    ),
  ];
}

export function printReport(results: PipelineBenchResults, path: string): void {
  const { machine, settings } = results;
  const lines = [
    '',
    'pipeline — SQL insert → claim → embed → in-process receiver (mgmt.embedding), beside provider.embed alone',
    `${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}; ${String(settings.database)}`,
    `sender: ${JSON.stringify(settings.sender)}; batch limits ${JSON.stringify(settings.batchLimits)}; ` +
      `corpus ${JSON.stringify(settings.corpus)}, a fresh corpus per round`,
    ...results.models.flatMap(modelSection),
    '',
    'Targets (decided on the medians; the best-run figure shows what quieter moments gave)',
    renderTable(
      ['target', 'measured', 'target', 'result', 'best run'],
      results.targets.map((t) => [
        t.ratioOf,
        formatNumber(t.ratio, t.target >= 10 ? 0 : 3),
        `≥ ${t.target}`,
        t.pass ? 'PASS' : 'MISS',
        formatNumber(t.bestRunRatio ?? NaN, t.target >= 10 ? 0 : 3),
      ]),
    ),
    ...results.targets.map((t) => `${t.pass ? 'PASS' : 'MISS'} ${t.name}`),
    '',
    `peak memory (RSS high-water mark of this process, app included): ${results.peakRssMiB} MiB`,
    `took ${results.durationSeconds} s; results: ${relative(process.cwd(), path)} and bench/results/latest-pipeline.json`,
  ];
  console.log(lines.join('\n'));
}

function modelSection(result: ModelResult): string[] {
  const seconds = (values: number[]) => values.map((value) => value.toFixed(2)).join(' ');
  const rows = [
    [
      'pipeline (commit → task finished)',
      formatNumber(result.pipeline.chunksPerSecond),
      formatNumber(result.pipeline.medianSeconds, 3),
      seconds(result.rounds.map((round) => round.pipeline.seconds)),
      formatNumber(result.pipeline.bestChunksPerSecond),
    ],
    [
      'provider.embed alone (one call)',
      formatNumber(result.provider.chunksPerSecond),
      formatNumber(result.provider.medianSeconds, 3),
      seconds(result.rounds.map((round) => round.provider.seconds)),
      formatNumber(result.provider.bestChunksPerSecond),
    ],
  ];
  const stageRows = result.stages.map((stage) => [
    stage.stage,
    formatNumber(stage.seconds, 3),
    formatNumber(stage.observations, 0),
    formatNumber(stage.microsecondsPerChunk, 1),
  ]);
  const wall = result.rounds.map((round) => round.pipeline.wallSeconds.toFixed(2)).join(' ');
  return [
    '',
    `${result.model} — ${result.description}; ${result.chunks} chunks per run, ${result.rounds.length} rounds ` +
      `(after a warm-up of ${result.warmUpChunks})`,
    renderTable(['contender', 'chunks/s', 'median s', 'runs s', 'best chunks/s'], rows),
    `pipeline / provider alone: ${result.ratio.toFixed(3)} (per round ${result.perRoundRatio.toFixed(3)}, best runs ` +
      `${result.bestRunRatio.toFixed(3)}); ` +
      `pipeline overhead ${result.overheadMsPerChunk.toFixed(3)} ms per chunk ` +
      `(median of (pipeline s − provider s) ÷ chunks); wall clock incl. ≤ 10 ms poll: ${wall} s`,
    'Stage breakdown (app /metrics, embedding_tasks_stage_duration_seconds over one run, median of rounds; stages of ' +
      'concurrent batches overlap, so sums can exceed the run):',
    renderTable(['stage', 'sum s', 'observations', 'µs per chunk'], stageRows),
    ...(result.smallTask ? smallTaskSection(result.smallTask) : []),
  ];
}
