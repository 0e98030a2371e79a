export type RunLane = 'interactive' | 'background';

/**
 * One inference at a time (each already uses every intra-op thread, so overlapping runs only add contention), from
 * two lanes that take turns while both have work. Interactive calls (requests) submit their runs one by one, so
 * concurrent requests interleave and none waits long behind another. Background calls (the sender's batches) submit
 * all their runs at once, so each finishes before the next one starts, instead of all of them finishing late and
 * together: the sender then delivers one batch while the model embeds the next.
 */
export class RunScheduler {
  private readonly lanes: Record<RunLane, Array<() => void>> = { interactive: [], background: [] };
  private lastLane: RunLane = 'background';
  private busy = false;
  private idleWaiters: Array<() => void> = [];

  /** Runs `task` when its turn comes; the answer settles like the task. */
  run<T>(task: () => Promise<T>, lane: RunLane = 'interactive'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.lanes[lane].push(() => {
        attempt(task)
          .then(resolve, reject)
          .finally(() => {
            this.busy = false;
            this.next();
          });
      });
      this.next();
    });
  }

  /** Resolves once nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private next(): void {
    if (this.busy) return;
    const other: RunLane = this.lastLane === 'interactive' ? 'background' : 'interactive';
    const lane = this.lanes[other].length > 0 ? other : this.lastLane;
    const start = this.lanes[lane].shift();
    if (!start) {
      this.idleWaiters.splice(0).forEach((resolve) => resolve());
      return;
    }
    this.lastLane = lane;
    this.busy = true;
    start();
  }
}

function attempt<T>(task: () => Promise<T>): Promise<T> {
  try {
    return task();
  } catch (error) {
    return Promise.reject(error);
  }
}
