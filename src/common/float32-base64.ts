/**
 * Vectors as base64 of little-endian float32 values: OpenAI's `encoding_format: base64`, and how vectors travel to
 * an HTTP receiver (a quarter of the JSON numbers' size, and exact).
 */
export function encodeFloat32Base64(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}

/** Undefined when `value` is not base64 of a whole number of float32 values. */
export function decodeFloat32Base64(value: string): Float32Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length % 4 !== 0) return undefined;
  const vector = new Float32Array(bytes.length / 4);
  for (let index = 0; index < vector.length; index++) vector[index] = bytes.readFloatLE(index * 4);
  return vector;
}
