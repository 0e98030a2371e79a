/** Vectors travel as number arrays or as base64 of little-endian float32 values (OpenAI's `base64` format). */
export function encodeBase64(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}

/** Returns undefined when the value is neither a number array nor base64 of a whole number of float32s. */
export function decodeVector(value: unknown): Float32Array | undefined {
  if (Array.isArray(value)) {
    return value.every((item) => typeof item === 'number') ? Float32Array.from(value) : undefined;
  }
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length % 4 !== 0) return undefined;
  const vector = new Float32Array(bytes.length / 4);
  for (let index = 0; index < vector.length; index++) vector[index] = bytes.readFloatLE(index * 4);
  return vector;
}
