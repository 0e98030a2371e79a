/** Vectors travel as number arrays or as base64 of little-endian float32 values (OpenAI's `base64` format). */
export function encodeBase64(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}

/**
 * Returns undefined when the value is neither a number array nor base64 of a whole number of float32s; a
 * Float32Array (an in-process delivery) is taken as it is.
 */
export function decodeVector(value: unknown): Float32Array | undefined {
  if (value instanceof Float32Array) return value;
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

const FLOAT4_OID = 700;

/**
 * The vectors, one after the other, as one real[] in PostgreSQL's binary wire format (what array_recv reads):
 * 1 dimension, no nulls, element type float4, then each value as a 4-byte length and a big-endian float. node-postgres
 * sends a Buffer parameter in binary, so `$n::real[]` receives it with no text parsing.
 */
export function encodeRealArray(vectors: Float32Array[]): Buffer {
  const count = vectors.reduce((total, vector) => total + vector.length, 0);
  const bytes = Buffer.alloc(20 + count * 8);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  [1, 0, FLOAT4_OID, count, 1].forEach((value, index) => view.setInt32(index * 4, value));
  let offset = 20;
  for (const vector of vectors) {
    for (const value of vector) {
      view.setInt32(offset, 4);
      view.setFloat32(offset + 4, value);
      offset += 8;
    }
  }
  return bytes;
}
