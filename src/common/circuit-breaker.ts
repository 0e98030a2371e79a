import { withoutBody } from '../logging/safe-error';

/** What a CircuitBreaker tells about itself: it opened (with the failure that tripped it) or closed again. */
export type BreakerListener = (up: boolean, message: string) => void;

export interface CircuitBreakerOptions {
  /** Consecutive transient failures that open it. */
  failures: number;
  /** While open, one trial is let through this often. */
  probeMs: number;
  now?: () => number;
}

/**
 * A dependency's circuit breaker, driven by consecutive transient failures: closed, it lets everything through; open,
 * it lets one trial through every `probeMs` (half-open: a trial batch), and the first success closes it. Each change
 * is told once to the listener, not every failure.
 */
export class CircuitBreaker {
  private consecutive = 0;
  private open = false;
  private lastTrial = 0;
  private lastError = '';
  private readonly now: () => number;

  constructor(
    readonly name: string,
    private readonly options: CircuitBreakerOptions,
    private readonly listener: BreakerListener,
  ) {
    this.now = options.now ?? Date.now;
  }

  get up(): boolean {
    return !this.open;
  }

  /** The failure that opened it (or the last one since), for readiness. */
  get error(): string {
    return this.lastError;
  }

  /** Consecutive transient failures so far: the exponent of the backoff of the work they put back. */
  get failures(): number {
    return this.consecutive;
  }

  /** Whether work may go to the dependency now; while open, true once per probe interval (the trial). */
  allows(): boolean {
    if (!this.open) return true;
    if (this.now() - this.lastTrial < this.options.probeMs) return false;
    this.lastTrial = this.now();
    return true;
  }

  succeeded(): void {
    this.consecutive = 0;
    if (!this.open) return;
    this.open = false;
    this.listener(true, `${this.name} available again: resuming claims`);
  }

  failed(error: string): void {
    this.consecutive++;
    this.lastError = error;
    if (this.open || this.consecutive < this.options.failures) return;
    this.open = true;
    this.lastTrial = this.now();
    this.listener(
      false,
      `${this.name} unavailable after ${this.consecutive} failures in a row (${withoutBody(error)}): pausing claims`,
    );
  }
}
