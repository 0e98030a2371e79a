/**
 * What the last isolations learnt, for a short while: which texts TEI refused (and why) and the vectors of their
 * batch-mates. A caller that sets a refused text aside and asks again (the sender does, one index at a time) is then
 * answered from here instead of sending the same batch to TEI once per bad text. Entries expire after `ttlMs` and
 * the oldest go first beyond `capacity`, so a TEI whose settings change is asked again soon.
 */
export class IsolationMemo {
  private readonly entries = new Map<string, { at: number; refusal?: string; vector?: Float32Array }>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly capacity = 20_000,
  ) {}

  refusal(key: string): string | undefined {
    return this.live(key)?.refusal;
  }

  vector(key: string): Float32Array | undefined {
    return this.live(key)?.vector;
  }

  remember(key: string, entry: { refusal: string } | { vector: Float32Array }): void {
    this.entries.delete(key);
    this.entries.set(key, { at: Date.now(), ...entry });
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  private live(key: string) {
    const entry = this.entries.get(key);
    if (entry && Date.now() - entry.at > this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
