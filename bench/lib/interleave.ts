import { median, secondsSince, sum } from './stats';

/**
 * One thing to time. The measured job is cut into slices (one slice: the whole job); `run(slice)` does one slice once.
 * `warmUp` readies it (JIT, buffers, caches).
 */
export interface Contender {
  name: string;
  warmUp(): Promise<void>;
  run(slice: number): Promise<void>;
}

export interface ContenderTiming {
  name: string;
  /** Seconds per round (every slice once), in the order the rounds ran; rounds line up across contenders. */
  samples: number[];
  /** Per slice, the median over rounds; summed over slices. */
  medianSeconds: number;
  /** Per slice, the fastest round; summed over slices. */
  bestSeconds: number;
}

export interface InterleaveOptions {
  rounds: number;
  /** Slices per round (default 1). */
  slices?: number;
  onRound?: (name: string, round: number, seconds: number) => void;
}

/**
 * Warms every contender up, then, `rounds` times, runs every slice on every contender in turn (slice 1 on A B C, slice
 * 2 on B C A, …): contenders take turns every few seconds, so bursts of load from elsewhere fall on all of them alike.
 * Each slice's median over rounds is kept, and summed over slices, so a burst spoils only the slice it hit.
 */
export async function timeInterleaved(contenders: Contender[], options: InterleaveOptions): Promise<ContenderTiming[]> {
  const { rounds, slices = 1, onRound } = options;
  for (const contender of contenders) {
    collectGarbage();
    await contender.warmUp();
  }
  // seconds[contender][round][slice]
  const seconds = new Map(contenders.map(({ name }) => [name, [] as number[][]]));
  for (let round = 0; round < rounds; round++) {
    contenders.forEach(({ name }) => seconds.get(name)!.push([]));
    for (let slice = 0; slice < slices; slice++) {
      // Each turn starts one contender later, so none always follows the same one.
      for (const contender of rotate(contenders, round * slices + slice)) {
        seconds.get(contender.name)![round].push(await timeOnce(contender, slice));
      }
    }
    contenders.forEach(({ name }) => onRound?.(name, round, sum(seconds.get(name)![round])));
  }
  return contenders.map(({ name }) => timingOf(name, seconds.get(name)!, slices));
}

async function timeOnce(contender: Contender, slice: number): Promise<number> {
  collectGarbage();
  const started = performance.now();
  await contender.run(slice);
  return secondsSince(started);
}

function timingOf(name: string, byRound: number[][], slices: number): ContenderTiming {
  const bySlice = Array.from({ length: slices }, (_, slice) => byRound.map((round) => round[slice]));
  return {
    name,
    samples: byRound.map(sum),
    medianSeconds: sum(bySlice.map(median)),
    bestSeconds: sum(bySlice.map((runs) => Math.min(...runs))),
  };
}

function rotate<T>(values: T[], by: number): T[] {
  const start = by % values.length;
  return [...values.slice(start), ...values.slice(0, start)];
}

/**
 * Rate of `a` over rate of `b` (each round does the same work, so b's time over a's) for each round, then the median:
 * one round's runs ran close together, so they shared the machine's mood more than medians across rounds do.
 */
export function perRoundRatio(a: number[], b: number[]): number {
  return median(a.map((seconds, round) => b[round] / seconds));
}

/**
 * With --expose-gc (npm run bench sets it): collect the previous contender's garbage before the next one starts, so
 * V8's collector threads do not compete with the next contender's inference threads for the cores.
 */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
