import { relative } from 'node:path';
import { median } from '../lib/stats';
import { formatNumber, renderTable } from '../lib/table';
import { HistoryShape } from './databases';
import { ContentionRun } from './contention';
import { ExportRun, Latency, SideBySide } from './measure';
import { medianRatio, PipelineRun, ratiosByRound } from './pipeline-rounds';
import { ContentHashIndexEffect, RelationSize } from './sizes';

/** A ratio against its bound: at least `bound` (higher is better) or at most (lower is better). */
export interface ScaleTarget {
  name: string;
  ratioOf: string;
  ratio: number;
  bound: number;
  atMost: boolean;
  pass: boolean;
}

export interface ScaleResults {
  part: 'scale';
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, string | number>;
  database: string;
  postgres: string;
  history: HistoryShape;
  /** Whether the history got its VACUUM and CHECKPOINT after the bulk load. */
  settled: boolean;
  pipeline: PipelineRun[];
  claim: SideBySide;
  api: SideBySide[];
  offsetPage: Latency;
  contention: ContentionRun;
  export: ExportRun;
  sizes: RelationSize[];
  claimPath: { index: string; bytes: number }[];
  vectors: { dimensions: number; bytesPerVector: number }[];
  contentHash: ContentHashIndexEffect;
  targets: ScaleTarget[];
}

const target = (name: string, ratioOf: string, ratio: number, bound: number, atMost: boolean): ScaleTarget => ({
  name,
  ratioOf,
  ratio,
  bound,
  atMost,
  pass: Number.isFinite(ratio) && (atMost ? ratio <= bound : ratio >= bound),
});

export function targetsOf(results: ScaleResults): ScaleTarget[] {
  return [
    ...historySides(results).map((side) =>
      target(
        `pipeline with ${side} links`,
        `${side} chunks/s / empty chunks/s, median per round`,
        medianRatio(results.pipeline, side),
        0.9,
        false,
      ),
    ),
    target(
      'claim statement',
      'history p50 / empty p50',
      results.claim.history.p50 / results.claim.small.p50,
      1.5,
      true,
    ),
    ...results.api.map((figure) =>
      target(figure.name, 'history p50 / 10k-link p50', figure.history.p50 / figure.small.p50, 2, true),
    ),
    target('export memory', 'service RSS growth, MiB (absolute)', results.export.rssGrowthMiB, 100, true),
  ];
}

const ms = (value: number) => formatNumber(value, 2);
const mib = (bytes: number) => formatNumber(bytes / 2 ** 20, 1);

export function printReport(results: ScaleResults, savedAt: string): void {
  const { history } = results;
  console.log(
    `\nscale: ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}, PostgreSQL ` +
      `${results.postgres} (${results.database}); histories of ${history.sides.join(', ')} done links + ` +
      `${history.tasks} finished tasks, ${results.settled ? 'settled' : 'not settled'} after the bulk load`,
  );
  printPipeline(results);
  console.log('\nLatency, side by side (ms):');
  console.log(
    renderTable(
      ['', 'small p50', 'history p50', 'ratio', 'small p95', 'history p95'],
      [results.claim, ...results.api].map((figure) => [
        figure.name,
        ms(figure.small.p50),
        ms(figure.history.p50),
        formatNumber(figure.history.p50 / figure.small.p50, 2),
        ms(figure.small.p95),
        ms(figure.history.p95),
      ]),
    ),
  );
  console.log(`  (claim: small = empty database; API: small = one finished task of 10,000 links)`);
  console.log(`  the same deep page by OFFSET (the old way): p50 ${ms(results.offsetPage.p50)} ms`);
  const k = results.contention;
  console.log(
    `\nContention: ${k.workers} workers claiming ${k.batchSize} links and marking them done, for ${k.seconds} s: ` +
      `one shared task ${formatNumber(k.sharedTaskLinksPerSecond, 0)} links/s, one task each ` +
      `${formatNumber(k.separateTasksLinksPerSecond, 0)} links/s (shared / separate ` +
      `${formatNumber(k.sharedTaskLinksPerSecond / k.separateTasksLinksPerSecond, 2)})`,
  );
  const e = results.export;
  console.log(
    `\nExport: ${e.vectors} vectors (${formatNumber(e.megabytes, 0)} MB) in ${formatNumber(e.seconds, 1)} s: ` +
      `${formatNumber(e.vectorsPerSecond, 0)} vectors/s; service RSS ${formatNumber(e.rssBeforeMiB, 0)} → peak ` +
      `${formatNumber(e.rssPeakMiB, 0)} MiB (growth ${formatNumber(e.rssGrowthMiB, 1)} MiB)`,
  );
  console.log('\nSizes after VACUUM (MiB per 1M rows of the table):');
  console.log(
    renderTable(
      ['relation', 'kind', 'rows', 'MiB', 'MiB per 1M'],
      results.sizes.map((size) => [
        size.relation,
        size.kind,
        String(size.rows),
        mib(size.bytes),
        formatNumber(size.perMillionMiB, 1),
      ]),
    ),
  );
  console.log(`  claim path: ${results.claimPath.map((size) => `${size.index} ${mib(size.bytes)} MiB`).join(', ')}`);
  console.log(
    `  a stored vector: ${results.vectors.map((v) => `${v.dimensions} dims ${formatNumber(v.bytesPerVector, 0)} B`).join(', ')}`,
  );
  const c = results.contentHash;
  console.log(
    `  embed_chunk content-hash index (dropped): ${formatNumber(c.indexMiB, 1)} MiB for ${c.chunks} chunks ` +
      `(${formatNumber((c.indexMiB / c.chunks) * 1e6, 1)} MiB per 1M), built in ${formatNumber(c.buildSeconds, 1)} s; ` +
      `inserting ${c.inserted} chunks: ${formatNumber(c.withIndexSeconds, 2)} s with it, ` +
      `${formatNumber(c.withoutIndexSeconds, 2)} s without`,
  );
  console.log('\nTargets:');
  console.log(
    renderTable(
      ['target', 'ratio of', 'value', 'bound', ''],
      results.targets.map((t) => [
        t.name,
        t.ratioOf,
        formatNumber(t.ratio, 2),
        `${t.atMost ? '≤' : '≥'} ${t.bound}`,
        t.pass ? 'PASS' : 'MISS',
      ]),
    ),
  );
  console.log(`\n${results.durationSeconds} s; results in ${relative(process.cwd(), savedAt)}`);
}

function historySides(results: Pick<ScaleResults, 'pipeline'>): string[] {
  return [...new Set(results.pipeline.map((run) => run.side))].filter((side) => side !== 'empty');
}

function printPipeline(results: ScaleResults): void {
  console.log(`\nPipeline (a fresh ${results.pipeline[0]?.chunks} chunk task by SQL, tiny model, default settings):`);
  const mb = (bytes: number) => formatNumber(bytes / 2 ** 20, 0);
  console.log(
    renderTable(
      ['round', 'side', 'chunks/s', 'claims', 'mean claim ms', 'WAL MiB', 'FPI', 'blocks read', 'hit', 'background'],
      results.pipeline.map((run) => [
        String(run.round + 1),
        run.side,
        formatNumber(run.chunksPerSecond, 0),
        String(run.claims),
        ms(run.claimMeanMs),
        mb(run.counters.walBytes),
        String(run.counters.walFullPageImages),
        String(run.counters.blocksRead),
        String(run.counters.blocksHit),
        Object.entries(run.background.seen)
          .map(([what, polls]) => `${what} ${Math.round((polls / run.background.polls) * 100)} %`)
          .join('; '),
      ]),
    ),
  );
  for (const side of historySides(results)) {
    const ratios = ratiosByRound(results.pipeline, side);
    console.log(
      `  ${side} / empty per round: ${ratios.map((r) => formatNumber(r, 2)).join(', ')} ` +
        `(median ${formatNumber(median(ratios), 2)}, spread ${formatNumber(Math.max(...ratios) - Math.min(...ratios), 2)})`,
    );
  }
}
