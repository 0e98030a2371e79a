/**
 * Vectors already stored, looked up by content hash, so that a sender delivers them again instead of embedding the
 * same text twice. Only the store can answer, so only the built-in receiver provides it: when vectors go to another
 * receiver (RECEIVER_URL), the token is null and everything is embedded.
 */
export abstract class VectorReuse {
  /** The stored vector of each of these content hashes that has one for `model`. */
  abstract findByHashes(model: string, hashes: string[]): Promise<Map<string, Float32Array>>;
}
