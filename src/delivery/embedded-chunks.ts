/** One vector per distinct text, or why the model refused it, by content hash. */
export interface EmbeddedChunks {
  model: string;
  dimensions: number;
  vectors: Map<string, Float32Array>;
  refused: Map<string, string>;
  /** The texts the model embedded for this request; the others were reused. */
  embedded: Set<string>;
  /**
   * Tokens of each text with a vector: for an embedded one what embedding it cost (the back end's count, a remote's
   * usage apportioned over its texts), for a reused one what embedding it would have cost (what reuse saved).
   */
  tokens: Map<string, number>;
}
