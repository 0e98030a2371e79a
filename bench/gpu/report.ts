import { relative } from 'node:path';
import { perRoundRatio } from '../lib/interleave';
import { median } from '../lib/stats';
import { formatNumber, renderTable } from '../lib/table';
import { checkTarget, TargetCheck } from '../lib/targets';
import { Round } from '../pipeline/measure';

export interface GpuConfig {
  dtype: string;
  file: string;
  maxBatchSize: number;
  maxBatchTokens: number;
}

export interface ThroughputFigure extends GpuConfig {
  samplesSeconds: number[];
  chunksPerSecond: number;
  /** Real tokens (no padding) per second. */
  tokensPerSecond: number;
  bestChunksPerSecond: number;
}

export interface GpuBenchResults {
  part: 'gpu';
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, string | number>;
  model: string;
  corpus: Record<string, number>;
  throughput: ThroughputFigure[];
  pipeline: { env: Record<string, string>; rounds: Round[] };
  targets: TargetCheck[];
  peakRssMiB: number;
}

/** The pipeline must keep the device busy: tokenising and database round trips overlap inference. */
export function pipelineTarget({ rounds }: GpuBenchResults['pipeline']): TargetCheck {
  const pipeline = rounds.map((round) => round.pipeline.seconds);
  const provider = rounds.map((round) => round.provider.seconds);
  return checkTarget(
    'gpu: pipeline / provider alone',
    'pipeline chunks/s / provider.embed chunks/s on the device',
    median(provider) / median(pipeline),
    0.9,
    Math.min(...provider) / Math.min(...pipeline),
    perRoundRatio(pipeline, provider),
  );
}

export function printGpuReport(results: GpuBenchResults, path: string): void {
  const { machine, throughput, pipeline } = results;
  const rows = throughput.map((figure) => [
    figure.dtype,
    String(figure.maxBatchSize),
    String(figure.maxBatchTokens),
    formatNumber(figure.tokensPerSecond, 0),
    formatNumber(figure.chunksPerSecond),
    formatNumber(figure.bestChunksPerSecond),
  ]);
  const seconds = (values: number[]) => values.map((value) => value.toFixed(2)).join(' ');
  const [target] = results.targets;
  console.log(
    [
      '',
      `gpu — ${results.model} on ${machine.device}; ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}; ` +
        `${results.corpus.texts} texts`,
      'provider.embed, one call over the corpus per run, configurations taking turns (median of rounds):',
      renderTable(['dtype', 'texts/run', 'tokens/run', 'tokens/s', 'chunks/s', 'best chunks/s'], rows),
      '',
      `pipeline (SQL insert → finished_at) beside provider.embed alone, app settings ${JSON.stringify(pipeline.env)}:`,
      `  pipeline runs ${seconds(pipeline.rounds.map((round) => round.pipeline.seconds))} s; provider alone ` +
        `${seconds(pipeline.rounds.map((round) => round.provider.seconds))} s`,
      `  pipeline / provider alone ${target.ratio.toFixed(3)} (per round ${formatNumber(target.perRoundRatio ?? NaN, 3)}` +
        `, best runs ${formatNumber(target.bestRunRatio ?? NaN, 3)}): ${target.pass ? 'PASS' : 'MISS'} (≥ ${target.target})`,
      '',
      `peak memory (RSS of this process): ${results.peakRssMiB} MiB; took ${results.durationSeconds} s; results: ` +
        `${relative(process.cwd(), path)}`,
    ].join('\n'),
  );
}
