import { decodeFloat32Base64 } from '../common/float32-base64';

/**
 * A delivered vector travels as a number array or as base64 of little-endian float32 values. Returns undefined when
 * the value is neither; a Float32Array (an in-process delivery) is taken as it is.
 */
export function decodeVector(value: unknown): Float32Array | undefined {
  if (value instanceof Float32Array) return value;
  if (Array.isArray(value)) {
    return value.every((item) => typeof item === 'number') ? Float32Array.from(value) : undefined;
  }
  return typeof value === 'string' ? decodeFloat32Base64(value) : undefined;
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
