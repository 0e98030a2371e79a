import { formatLoad } from '../lib/load';
import { formatNumber, renderTable } from '../lib/table';
import { CaseResult, ContenderFigure } from './cases';
import { Sweep } from './sweep';

export interface LimitResults {
  part: 'limit';
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, string | number>;
  load: { at: string; load: number[] }[];
  settings: Record<string, unknown>;
  cases: CaseResult[];
  sweeps?: Sweep[];
}

/** The ≥ 70 % target of issue 26: the pipeline on batched medium texts in fp32. */
export const PIPELINE_TARGET = 0.7;

const fraction = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(2));
const percent = (value: number | undefined) => (value === undefined ? '-' : `${Math.round(value * 100)} %`);

export function printReport(results: LimitResults, path: string): void {
  const { machine, load, durationSeconds } = results;
  console.log(`\nlimit: ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}; ${durationSeconds} s`);
  load.forEach(({ at, load: values }) => console.log(`  ${at}: ${formatLoad(values)}`));
  console.log('\nShare of the attainable GEMM rate (useful FLOPs: each text at its own length, no padding).');
  console.log('Each cell: median of the rounds / best round / per CPU-second of this process (median).');
  if (results.cases.length > 0) {
    console.log(renderTable(caseHeader(results.cases), results.cases.map(caseRow)));
    console.log('\nWhere the time goes (median shares of each pass):');
    console.log(renderTable(stageHeader, results.cases.map(stageRow)));
  }
  for (const target of targetLines(results.cases)) console.log(target);
  for (const sweep of results.sweeps ?? []) {
    console.log(`\n${sweep.title} (${sweep.texts} texts)`);
    const rows = sweep.variants.map((v) => [v.name, formatNumber(v.chunksPerSecond), v.ratio.toFixed(3)]);
    console.log(renderTable(['variant', 'texts/s', '× service (per round)'], rows));
  }
  console.log(`\nresults: ${path}`);
}

function caseHeader(cases: CaseResult[]): string[] {
  const names = cases[0]?.contenders.map(({ name }) => name) ?? [];
  const [first, ...rest] = names;
  return ['case', 'texts', 'tokens', 'useful/padded', 'attainable GFLOP/s', `${first} (padded)`, first, ...rest];
}

function caseRow(result: CaseResult): string[] {
  const [first, ...rest] = result.contenders;
  const cells = (figure?: ContenderFigure) =>
    figure ? `${fraction(figure.fraction)} / ${fraction(figure.bestFraction)} / ${fraction(figure.cpuFraction)}` : '-';
  return [
    result.label,
    String(Math.round(result.texts)),
    formatNumber(result.meanTokens),
    fraction(result.usefulShare),
    `${formatNumber(result.attainableGflops, 0)} (${result.attainableGflopsRange.map((v) => v.toFixed(0)).join('–')}) ` +
      `${formatNumber(result.cpuAttainableGflops, 0)}/cpu-s`,
    fraction(first?.paddedFraction),
    cells(first),
    ...[0, 1, 2].map((index) => cells(rest[index])),
  ];
}

const stageHeader = [
  'case',
  'provider: tokenize',
  'session.run',
  'other',
  'pipeline: tokenize',
  'session.run',
  'other',
];

function stageRow(result: CaseResult): string[] {
  const byName = (name: string) => result.contenders.find((figure) => figure.name.startsWith(name));
  const split = (figure?: ContenderFigure) => {
    if (!figure || figure.runShare === undefined) return ['-', '-', '-'];
    const tokenize = figure.tokenizeShare ?? 0;
    return [percent(tokenize), percent(figure.runShare), percent(1 - tokenize - figure.runShare)];
  };
  return [result.label, ...split(byName('provider')), ...split(byName('pipeline'))];
}

function targetLines(cases: CaseResult[]): string[] {
  return cases
    .filter((result) => result.label.endsWith('fp32 medium'))
    .map((result) => {
      const pipeline = result.contenders.find(({ name }) => name.startsWith('pipeline'));
      if (!pipeline) return `${result.label}: no pipeline figure`;
      const verdict = pipeline.fraction >= PIPELINE_TARGET ? 'PASS' : 'MISS';
      return (
        `target ${result.label}: pipeline ${pipeline.fraction.toFixed(2)} of attainable ` +
        `(best round ${pipeline.bestFraction.toFixed(2)}) ≥ ${PIPELINE_TARGET} ${verdict}`
      );
    });
}
