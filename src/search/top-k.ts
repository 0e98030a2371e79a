export interface ScoredChunk {
  chunkId: number;
  /** Cosine similarity, -1 to 1. */
  score: number;
}

/** Higher score first; equal scores in chunk id order, so every answer is deterministic. */
export function ranksBefore(a: ScoredChunk, b: ScoredChunk): boolean {
  return a.score > b.score || (a.score === b.score && a.chunkId < b.chunkId);
}

/**
 * The k best chunks seen so far, best first. Most candidates of a large scan rank below the k-th and cost one
 * comparison; the others are inserted in order (k is at most 1,000).
 */
export class TopK {
  private readonly items: ScoredChunk[] = [];

  constructor(private readonly k: number) {}

  offer(chunkId: number, score: number): void {
    const candidate = { chunkId, score };
    if (this.items.length === this.k && !ranksBefore(candidate, this.items[this.k - 1])) return;
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (ranksBefore(this.items[middle], candidate)) low = middle + 1;
      else high = middle;
    }
    this.items.splice(low, 0, candidate);
    if (this.items.length > this.k) this.items.pop();
  }

  best(): ScoredChunk[] {
    return [...this.items];
  }
}
