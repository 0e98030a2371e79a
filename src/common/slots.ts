/** At most `size` holders at once; the others wait their turn, first come first served. */
export class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.used >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.used++;
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next in line (used stays the same), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.used--;
    }
  }
}
