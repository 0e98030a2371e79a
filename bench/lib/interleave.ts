import { median, secondsSince } from './stats';

/** One thing to time: `run` does the whole measured job once; `warmUp` readies it (JIT, buffers, caches). */
export interface Contender {
  name: string;
  warmUp(): Promise<void>;
  run(): Promise<void>;
}

export interface ContenderTiming {
  name: string;
  /** Seconds per run, in the order they ran. */
  samples: number[];
  medianSeconds: number;
  bestSeconds: number;
}

/**
 * Warms every contender up, then runs them in turn (A B C A B C …) `rounds` times, so slow phases of a noisy machine
 * fall on all of them alike; the median of each contender's runs is its figure.
 */
export async function timeInterleaved(
  contenders: Contender[],
  rounds: number,
  onSample?: (name: string, round: number, seconds: number) => void,
): Promise<ContenderTiming[]> {
  for (const contender of contenders) {
    collectGarbage();
    await contender.warmUp();
  }
  const samples = new Map<string, number[]>(contenders.map(({ name }) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const contender of contenders) {
      collectGarbage();
      const started = performance.now();
      await contender.run();
      const seconds = secondsSince(started);
      samples.get(contender.name)!.push(seconds);
      onSample?.(contender.name, round, seconds);
    }
  }
  return contenders.map(({ name }) => {
    const runs = samples.get(name)!;
    return { name, samples: runs, medianSeconds: median(runs), bestSeconds: Math.min(...runs) };
  });
}

/**
 * With --expose-gc (npm run bench sets it): collect the previous contender's garbage before the next one starts, so
 * V8's collector threads do not compete with the next contender's inference threads for the cores.
 */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
