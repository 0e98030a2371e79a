/** Linear interpolation between the closest ranks (numpy's default), `fraction` in [0, 1]. */
export function quantile(values: number[], fraction: number): number {
  if (values.length === 0) {
    return NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * fraction;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

export function median(values: number[]): number {
  return quantile(values, 0.5);
}

export function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** Seconds since `start` (a performance.now() reading). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
