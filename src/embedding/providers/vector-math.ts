/** torch.nn.functional.normalize's epsilon: a zero vector stays zero instead of becoming NaN. */
const NORM_EPSILON = 1e-12;

export function l2Normalize(vector: Float32Array): Float32Array {
  let squares = 0;
  for (const value of vector) {
    squares += value * value;
  }
  const norm = Math.max(Math.sqrt(squares), NORM_EPSILON);
  return vector.map((value) => value / norm);
}

/** Matryoshka truncation keeps the leading dimensions; normalising after the cut makes them unit length again. */
export function finishVector(vector: Float32Array, normalize: boolean, dimensions?: number): Float32Array {
  const kept = dimensions === undefined ? vector : vector.slice(0, dimensions);
  return normalize ? l2Normalize(kept) : kept;
}
