import { loadavg } from 'node:os';

/** `uptime`'s load averages (1, 5 and 15 minutes), rounded: printed beside every figure of a noisy machine. */
export function loadAverage(): [number, number, number] {
  const [one, five, fifteen] = loadavg();
  return [one, five, fifteen].map((value) => Math.round(value * 100) / 100) as [number, number, number];
}

export function formatLoad([one, five, fifteen]: number[]): string {
  return `load average ${one}, ${five}, ${fifteen}`;
}

/** The load at the start and the end of a part, for its report. */
export class LoadLog {
  readonly samples: { at: string; load: [number, number, number] }[] = [];

  note(at: string): string {
    const load = loadAverage();
    this.samples.push({ at, load });
    return `${at}: ${formatLoad(load)}`;
  }
}
