/** Command-line flags of `npm run soak`, with their defaults. */
export interface SoakOptions {
  minutes: number;
  /** Bounded wait for the backlog to drain once chaos stops. */
  drainMinutes: number;
  senders: number;
  seed: number;
  /** Receiver outages: each lasts a random time in [min, max] seconds, with healthy gaps in between. */
  outageMinS: number;
  outageMaxS: number;
  outageGapMinS: number;
  outageGapMaxS: number;
  /** PostgreSQL restarts spread over the chaos phase, each down for a random time in [min, max] seconds. */
  pgRestarts: number;
  pgDownMinS: number;
  pgDownMaxS: number;
  /** Seconds between sender kills (SIGKILL or SIGTERM), random in [min, max]. */
  killEveryMinS: number;
  killEveryMaxS: number;
  /** Share of sender stops that are SIGTERM instead of SIGKILL. */
  sigtermShare: number;
  /** Share of receiver requests that hang (longer than the senders' timeout). */
  hangRate: number;
  hangS: number;
  /** What the receiver answers for a batch holding a poison chunk. */
  poisonStatus: number;
  poisonRate: number;
  /** A task is added every this many milliseconds, alternately through REST and SQL. */
  feedEveryMs: number;
  maxChunksPerTask: number;
  /** Seconds between issue 20's attacks on a sender's API (chaos kind "hostile"), random in [min, max]; max 0: none. */
  hostileEveryMinS: number;
  hostileEveryMaxS: number;
  /** Extra environment of every sender (KEY=VALUE, repeatable), over the soak's own. */
  senderEnv: Record<string, string>;
  /** Keep the temporary folder (databases, logs) after the run. */
  keep: boolean;
}

export const DEFAULTS: SoakOptions = {
  minutes: 3,
  drainMinutes: 10,
  senders: 3,
  seed: Date.now() % 1_000_000,
  outageMinS: 10,
  outageMaxS: 60,
  outageGapMinS: 10,
  outageGapMaxS: 30,
  pgRestarts: 1,
  pgDownMinS: 5,
  pgDownMaxS: 20,
  killEveryMinS: 10,
  killEveryMaxS: 25,
  sigtermShare: 0.3,
  hangRate: 0.02,
  hangS: 8,
  poisonStatus: 500,
  poisonRate: 0.01,
  feedEveryMs: 2000,
  maxChunksPerTask: 40,
  hostileEveryMinS: 20,
  hostileEveryMaxS: 40,
  senderEnv: {},
  keep: false,
};

const NUMBER_FLAGS: Record<string, keyof SoakOptions> = {
  '--minutes': 'minutes',
  '--drain-minutes': 'drainMinutes',
  '--senders': 'senders',
  '--seed': 'seed',
  '--outage-min-s': 'outageMinS',
  '--outage-max-s': 'outageMaxS',
  '--outage-gap-min-s': 'outageGapMinS',
  '--outage-gap-max-s': 'outageGapMaxS',
  '--pg-restarts': 'pgRestarts',
  '--pg-down-min-s': 'pgDownMinS',
  '--pg-down-max-s': 'pgDownMaxS',
  '--kill-every-min-s': 'killEveryMinS',
  '--kill-every-max-s': 'killEveryMaxS',
  '--sigterm-share': 'sigtermShare',
  '--hang-rate': 'hangRate',
  '--hang-s': 'hangS',
  '--poison-status': 'poisonStatus',
  '--poison-rate': 'poisonRate',
  '--feed-every-ms': 'feedEveryMs',
  '--max-chunks-per-task': 'maxChunksPerTask',
  '--hostile-every-min-s': 'hostileEveryMinS',
  '--hostile-every-max-s': 'hostileEveryMaxS',
};

export const USAGE = `npm run soak -- [--minutes N] [flags]

Starts its own PostgreSQL, ${DEFAULTS.senders} sender processes and a fault-injecting receiver, feeds tasks through
REST and SQL, kills senders, cuts the receiver off, restarts PostgreSQL and sends issue 20's hostile requests
for N minutes, lets the backlog drain,
then checks that every chunk was stored or failed as it should. Exit code 0: no violation; 1: violations; 2: error.

Flags (defaults in brackets):
${Object.entries(NUMBER_FLAGS)
  .map(([flag, key]) => `  ${flag.padEnd(22)} [${DEFAULTS[key] as number}]`)
  .join('\n')}
  --sender-env KEY=VALUE  extra setting for every sender (repeatable)
  --keep                  keep the temporary folder (PostgreSQL data, process logs)`;

export function parseOptions(args: string[]): SoakOptions {
  const options: SoakOptions = { ...DEFAULTS, senderEnv: {} };
  for (let index = 0; index < args.length; index++) {
    const [flag, inline] = splitFlag(args[index]);
    if (flag === '--keep') {
      options.keep = true;
      continue;
    }
    const value = inline ?? args[++index];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--sender-env') addSenderEnv(options, value);
    else setNumber(options, flag, value);
  }
  return validate(options);
}

function splitFlag(arg: string): [string, string | undefined] {
  const at = arg.indexOf('=');
  return at < 0 ? [arg, undefined] : [arg.slice(0, at), arg.slice(at + 1)];
}

function addSenderEnv(options: SoakOptions, value: string): void {
  const at = value.indexOf('=');
  if (at < 1) throw new Error(`--sender-env needs KEY=VALUE, got "${value}"`);
  options.senderEnv[value.slice(0, at)] = value.slice(at + 1);
}

function setNumber(options: SoakOptions, flag: string, value: string): void {
  const key = NUMBER_FLAGS[flag];
  if (!key) throw new Error(`unknown flag ${flag}\n\n${USAGE}`);
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0) {
    throw new Error(`${flag} needs a non-negative number, got "${value}"`);
  }
  (options as unknown as Record<string, number>)[key] = number;
}

function validate(options: SoakOptions): SoakOptions {
  const ranges: [string, number, number][] = [
    ['--outage-min-s/--outage-max-s', options.outageMinS, options.outageMaxS],
    ['--outage-gap-min-s/--outage-gap-max-s', options.outageGapMinS, options.outageGapMaxS],
    ['--pg-down-min-s/--pg-down-max-s', options.pgDownMinS, options.pgDownMaxS],
    ['--kill-every-min-s/--kill-every-max-s', options.killEveryMinS, options.killEveryMaxS],
    ['--hostile-every-min-s/--hostile-every-max-s', options.hostileEveryMinS, options.hostileEveryMaxS],
  ];
  for (const [flags, min, max] of ranges) if (min > max) throw new Error(`${flags}: min is above max`);
  if (options.minutes <= 0) throw new Error('--minutes must be above 0');
  if (!Number.isInteger(options.senders) || options.senders < 1)
    throw new Error('--senders must be a whole number ≥ 1');
  if (![422, 500].includes(options.poisonStatus)) throw new Error('--poison-status must be 422 or 500');
  for (const [flag, share] of [
    ['--sigterm-share', options.sigtermShare],
    ['--hang-rate', options.hangRate],
    ['--poison-rate', options.poisonRate],
  ] as const) {
    if (share > 1) throw new Error(`${flag} is a share between 0 and 1`);
  }
  return options;
}
