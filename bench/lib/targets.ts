export interface TargetCheck {
  name: string;
  /** What the ratio divides, e.g. "provider / raw session.run". */
  ratioOf: string;
  ratio: number;
  target: number;
  pass: boolean;
}

/** A ratio against its minimum; reported as PASS or MISS, never asserted. */
export function checkTarget(name: string, ratioOf: string, ratio: number, target: number): TargetCheck {
  return { name, ratioOf, ratio, target, pass: Number.isFinite(ratio) && ratio >= target };
}
