/** Settings from the command line and BENCH_* variables; each part applies its own defaults. */
export interface BenchOptions {
  /** Corpus size. */
  texts?: number;
  /** Interleaved timed rounds per contender. */
  rounds?: number;
  /** Timed requests in latency measurements. */
  requests?: number;
  /** PostgreSQL for parts that start the app; unset: a throwaway embedded server. */
  databaseUrl?: string;
}

/** One `npm run bench -- <name>` section. */
export interface BenchPart {
  name: string;
  description: string;
  run(options: BenchOptions): Promise<void>;
}
