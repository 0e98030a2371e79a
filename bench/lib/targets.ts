export interface TargetCheck {
  name: string;
  /** What the ratio divides, e.g. "provider / raw session.run". */
  ratioOf: string;
  /** From the medians: what PASS or MISS is decided on. */
  ratio: number;
  /** The median of each round's ratio, where known: robust to bursts of load that hit some rounds only. */
  perRoundRatio?: number;
  /** From each side's fastest run, where known: on a busy machine, closer to what an idle one would give. */
  bestRunRatio?: number;
  target: number;
  pass: boolean;
}

/** A ratio against its minimum; reported as PASS or MISS, never asserted. */
export function checkTarget(
  name: string,
  ratioOf: string,
  ratio: number,
  target: number,
  bestRunRatio?: number,
  perRoundRatio?: number,
): TargetCheck {
  return { name, ratioOf, ratio, perRoundRatio, bestRunRatio, target, pass: Number.isFinite(ratio) && ratio >= target };
}
