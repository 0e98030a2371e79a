import { median, sum } from '../lib/stats';
import { LimitContender, PassTiming } from './contenders';
import { EncoderShape, usefulFlops } from './flops';
import { cpuSeconds, GemmMix } from './gemm';

export interface CaseInput {
  label: string;
  /** The round's texts (fresh ones each round, so the pipeline reuses no stored vector). */
  textsOf: (round: number) => string[];
  /** Token counts of those texts after truncation: each counts at its own length (useful FLOPs). */
  lengthsOf: (texts: string[]) => Promise<number[]>;
  shape: EncoderShape;
  gemm: GemmMix;
  contenders: LimitContender[];
  rounds: number;
  log: (line: string) => void;
}

export interface ContenderFigure {
  name: string;
  /** Median over rounds of useful GFLOP/s. */
  usefulGflops: number;
  /** Median over rounds of (useful rate ÷ that round's attainable GEMM rate). */
  fraction: number;
  /**
   * The same per second of this process's CPU time (PostgreSQL's excluded): robust to other jobs taking cores
   * away, blind to time spent waiting (on the database, or on a descheduled thread).
   */
  cpuFraction: number;
  /** The same from the fastest round of each. */
  bestFraction: number;
  /** Median over rounds: the padded FLOPs' rate ÷ attainable, where the contender knows its batches. */
  paddedFraction?: number;
  /** Median shares of the pass's time. */
  runShare?: number;
  tokenizeShare?: number;
  passes: PassTiming[];
}

export interface CaseResult {
  label: string;
  texts: number;
  meanTokens: number;
  usefulGflopPerPass: number;
  /** Median attainable GEMM GFLOP/s of the case (measured between the contenders' passes), and its range. */
  attainableGflops: number;
  attainableGflopsRange: [number, number];
  /** Median GEMM GFLOP per CPU-second (per core busy). */
  cpuAttainableGflops: number;
  /** useful ÷ padded FLOPs of the provider's plan. */
  usefulShare?: number;
  contenders: ContenderFigure[];
}

/**
 * `rounds` rounds; in each, the GEMM roofline and every contender take turns on the same texts (the order rotating
 * round by round), so each fraction is a ratio of two rates measured seconds apart on the same machine.
 */
export async function runCase(input: CaseInput): Promise<CaseResult> {
  const { contenders, rounds, gemm, log } = input;
  // attainable[contender][round]: FLOP/s around that pass.
  const attainable = contenders.map(() => [] as number[]);
  const cpuAttainable = contenders.map(() => [] as number[]);
  const useful: number[] = [];
  const passes = contenders.map(() => [] as PassTiming[]);
  const lengths: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const roundTexts = input.textsOf(round);
    const roundLengths = await input.lengthsOf(roundTexts);
    lengths.push(...roundLengths);
    useful.push(usefulFlops(input.shape, roundLengths));
    // The roofline is measured before and after each contender's pass, the order of contenders rotating each round:
    // a pass is compared with the mean of the two rates measured just around it.
    let before = await gemmRate(gemm);
    for (let turn = 0; turn < contenders.length; turn++) {
      const index = (turn + round) % contenders.length;
      collectGarbage();
      const cpuBefore = cpuSeconds();
      const pass = await contenders[index].pass(roundTexts, round);
      passes[index][round] = { ...pass, cpuSeconds: cpuSeconds() - cpuBefore };
      const after = await gemmRate(gemm);
      attainable[index][round] = (before.wall + after.wall) / 2;
      cpuAttainable[index][round] = (before.cpu + after.cpu) / 2;
      before = after;
    }
    log(
      `  ${input.label} round ${round + 1}/${rounds}: ` +
        contenders
          .map((c, i) => {
            const rate = attainable[i][round];
            return `${c.name} ${(useful[round] / passes[i][round].seconds / rate).toFixed(2)} of ${(rate / 1e9).toFixed(0)}`;
          })
          .join(', '),
    );
  }
  const counts = { texts: lengths.length / rounds, meanTokens: sum(lengths) / lengths.length };
  return summarise(input.label, counts, useful, { attainable, cpuAttainable }, contenders, passes);
}

/** One GEMM mix measurement (about 0.2 s per shape). */
async function gemmRate(gemm: GemmMix): Promise<{ wall: number; cpu: number }> {
  const { mixGflops, cpuMixGflops } = await gemm.measure();
  return { wall: mixGflops * 1e9, cpu: cpuMixGflops * 1e9 };
}

function summarise(
  label: string,
  { texts, meanTokens }: { texts: number; meanTokens: number },
  useful: number[],
  { attainable, cpuAttainable }: { attainable: number[][]; cpuAttainable: number[][] },
  contenders: LimitContender[],
  passes: PassTiming[][],
): CaseResult {
  const figures = contenders.map(({ name }, index) => {
    const mine = passes[index];
    const around = attainable[index];
    const fractions = mine.map((pass, round) => useful[round] / pass.seconds / around[round]);
    const cpuFraction = median(
      mine.map((pass, round) => useful[round] / pass.cpuSeconds! / cpuAttainable[index][round]),
    );
    const padded = mine.every((pass) => pass.paddedFlops !== undefined)
      ? median(mine.map((pass, round) => pass.paddedFlops! / (pass.runSeconds ?? pass.seconds) / around[round]))
      : undefined;
    const share = (key: 'runSeconds' | 'tokenizeSeconds') =>
      mine.every((pass) => pass[key] !== undefined) ? median(mine.map((pass) => pass[key]! / pass.seconds)) : undefined;
    return {
      name,
      usefulGflops: median(mine.map((pass, round) => useful[round] / pass.seconds)) / 1e9,
      fraction: median(fractions),
      cpuFraction,
      bestFraction: Math.max(...fractions),
      paddedFraction: padded,
      runShare: share('runSeconds'),
      tokenizeShare: share('tokenizeSeconds'),
      passes: mine,
    };
  });
  const withPadding = passes.find((mine) => mine.every((pass) => pass.paddedFlops !== undefined));
  return {
    label,
    texts,
    meanTokens,
    usefulGflopPerPass: median(useful) / 1e9,
    attainableGflops: median(attainable.flat()) / 1e9,
    attainableGflopsRange: [Math.min(...attainable.flat()) / 1e9, Math.max(...attainable.flat()) / 1e9],
    cpuAttainableGflops: median(cpuAttainable.flat()) / 1e9,
    usefulShare: withPadding && median(withPadding.map((pass, round) => useful[round] / pass.paddedFlops!)),
    contenders: figures,
  };
}

/** With --expose-gc (npm run bench sets it): the previous contender's garbage is not collected on the next's time. */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
