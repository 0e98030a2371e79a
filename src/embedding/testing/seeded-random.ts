/**
 * mulberry32: a tiny 32-bit PRNG. Only integer and basic float arithmetic is used (no Math.log or Math.cos),
 * so the same seed yields bit-identical weights on every platform and Node version.
 */
/** The sum of four U(0, 1) has variance 4/12; scaling by sqrt(3) brings it to 1. */
const UNIT_VARIANCE_SCALE = Math.sqrt(3);

export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Approximately normal (Irwin-Hall sum of four uniforms, rescaled to unit variance). */
  normal(mean: number, std: number): number {
    const sum = this.next() + this.next() + this.next() + this.next();
    return mean + (sum - 2) * UNIT_VARIANCE_SCALE * std;
  }

  normals(count: number, mean: number, std: number): Float32Array {
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      values[i] = this.normal(mean, std);
    }
    return values;
  }
}
