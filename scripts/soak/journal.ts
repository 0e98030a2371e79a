import { SeededRandom } from '../../test/fixtures/model/seeded-random';

/** Everything the soak counts, for the summary. */
export interface Tally {
  sigkills: number;
  sigterms: number;
  /** SIGTERMed senders that did not exit 0 within their grace (then killed). */
  sigtermUnclean: number;
  /** Leases still held by senders after they exited cleanly on SIGTERM (they must release them). */
  sigtermLeasesLeft: number;
  /** Sender exits nobody asked for (start-up failures while the database was down, crashes), with their reasons. */
  unexpectedExits: number;
  senderStarts: number;
  outages503: number;
  outagesRefused: number;
  outageSeconds: number;
  longestOutageS: number;
  pgRestarts: number;
  pgDownSeconds: number;
  /** Senders alive before a PostgreSQL restart that were still the same processes after it. */
  sendersSurvivedPg: number;
  sendersExitedOnPg: number;
  restTasks: number;
  restRefused: number;
  /** Why REST adds were refused: the HTTP status, or `network`. */
  restRefusedBy: Record<string, number>;
  sqlTasks: number;
  sqlRefused: number;
  /** Issue 20's attacks sent to the senders' APIs (chaos kind "hostile"), and what they answered. */
  hostileAttacks: number;
  hostileAnswers: Record<string, number>;
  /** Answers that were failures rather than refusals (5xx other than 503, a broken connection, no answer). */
  hostileFailures: number;
  /** Senders that died while (or just after) they were attacked, by nobody's signal. */
  hostileDeaths: number;
}

export const emptyTally = (): Tally => ({
  sigkills: 0,
  sigterms: 0,
  sigtermUnclean: 0,
  sigtermLeasesLeft: 0,
  unexpectedExits: 0,
  senderStarts: 0,
  outages503: 0,
  outagesRefused: 0,
  outageSeconds: 0,
  longestOutageS: 0,
  pgRestarts: 0,
  pgDownSeconds: 0,
  sendersSurvivedPg: 0,
  sendersExitedOnPg: 0,
  restTasks: 0,
  restRefused: 0,
  restRefusedBy: {},
  sqlTasks: 0,
  sqlRefused: 0,
  hostileAttacks: 0,
  hostileAnswers: {},
  hostileFailures: 0,
  hostileDeaths: 0,
});

/** The run's clock, seeded randomness, counters and a timeline printed as it happens. */
export class Journal {
  readonly tally = emptyTally();
  readonly startedAt = Date.now();
  private readonly random: SeededRandom;

  constructor(seed: number) {
    this.random = new SeededRandom(seed);
  }

  event(message: string): void {
    console.log(`[${clock(Date.now() - this.startedAt)}] ${message}`);
  }

  /** Uniform in [min, max]. */
  between(min: number, max: number): number {
    return min + this.random.next() * (max - min);
  }

  chance(share: number): boolean {
    return this.random.next() < share;
  }

  pick<T>(items: T[]): T {
    return items[Math.floor(this.random.next() * items.length)];
  }
}

function clock(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}
