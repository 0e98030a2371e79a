/**
 * npm run soak -- --minutes N [flags]   (npm run soak -- --help for the flags)
 * A chaos run against real processes: see scripts/soak/options.ts and the README's "Soak test".
 */
import 'reflect-metadata';
import { chmodSync, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ensureModel } from '../../test/fixtures/model/make-model';
import { freePort } from '../../test/ports';
import { Chaos } from './chaos';
import { Feeder } from './feeder';
import { Journal } from './journal';
import { parseOptions, SoakOptions, USAGE } from './options';
import { SoakPostgres } from './postgres';
import { FaultReceiver } from './receiver';
import { renderReport } from './report';
import { SenderFleet } from './senders';
import { drain, verify } from './verify';

const MODEL = 'tiny';

/** The senders' settings: short leases and timeouts so killed and hung work comes back within the run. */
function senderEnv(options: SoakOptions, databaseUrl: string, modelDir: string, receiverUrl: string) {
  const { API_KEY: _key, ...inherited } = process.env;
  return {
    ...(inherited as Record<string, string>),
    DATABASE_URL: databaseUrl,
    EMBEDDING_MODELS: `${MODEL}=${modelDir}`,
    EMBEDDING_THREADS: '1',
    DATABASE_POOL_SIZE: '4',
    RECEIVER_URL: receiverUrl,
    RECEIVER_ENABLED: 'false',
    RECEIVER_TIMEOUT_MS: '5000',
    SENDER_ENABLED: 'true',
    SENDER_LEASE_SECONDS: '10',
    SENDER_BATCH_SIZE: '32',
    SENDER_POLL_INTERVAL_MS: '1000',
    SENDER_SHUTDOWN_GRACE_MS: '5000',
    LOG_LEVEL: 'log',
    LOG_FORMAT: 'json',
    ...options.senderEnv,
  };
}

async function main(options: SoakOptions): Promise<number> {
  const journal = new Journal(options.seed);
  const dir = mkdtempSync(join(tmpdir(), 'embedding-tasks-soak-'));
  // Under root PostgreSQL runs as the postgres user, which must reach its data folder inside.
  chmodSync(dir, 0o755);
  const logDir = join(dir, 'logs');
  await mkdir(logDir);
  journal.event(`soak: ${options.minutes} min of chaos, seed ${options.seed}, folder ${dir}`);
  const pgLog = createWriteStream(join(logDir, 'postgres.log'));
  const postgres = new SoakPostgres(join(dir, 'pg'), await freePort(), (line) => pgLog.write(`${line}\n`));
  const receiver = new FaultReceiver(
    { hangRate: options.hangRate, hangMs: options.hangS * 1000, poisonStatus: options.poisonStatus },
    journal,
  );
  let fleet: SenderFleet | undefined;
  let failed = true;
  const cleanup = async () => {
    await fleet?.close();
    await receiver.stop();
    await postgres.stop('fast');
    pgLog.end();
    if (options.keep || failed) journal.event(`kept ${dir} (logs in ${logDir})`);
    else rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    const modelDir = await ensureModel(MODEL);
    const databaseUrl = await postgres.start();
    await receiver.start();
    const env = senderEnv(options, databaseUrl, modelDir, receiver.url);
    journal.event(
      `senders: ${Object.entries(env)
        .filter(([k]) => /^(SENDER|RECEIVER)_/.test(k))
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    fleet = new SenderFleet(options.senders, env, logDir, journal);
    await fleet.start();
    journal.event(`${options.senders} senders up; chaos begins`);
    const feeder = new Feeder(
      () => postgres.url,
      receiver.poisonHashes,
      { model: MODEL, poisonRate: options.poisonRate, maxChunksPerTask: options.maxChunksPerTask },
      journal,
    );
    const chaosStart = Date.now();
    await new Chaos(options, fleet, receiver, postgres, feeder, journal).run(options.minutes * 60_000);
    await feeder.close();
    const chaosSeconds = (Date.now() - chaosStart) / 1000;
    journal.event('chaos over; waiting for every sender, then for the backlog to drain');
    await fleet.waitReady();
    const drainStart = Date.now();
    const client = new Client({ connectionString: databaseUrl, application_name: 'soak-check' });
    await client.connect();
    try {
      const open = await drain(client, options.drainMinutes * 60_000, journal);
      const drainSeconds = (Date.now() - drainStart) / 1000;
      journal.event(
        open === 0 ? `drained in ${drainSeconds.toFixed(0)} s` : `still ${open} open links after the drain`,
      );
      const drift = (await (await fetch(`${fleet.apis()[0]}/tasks/counts/drift`)).json()) as { drifted: unknown[] };
      const findings = await verify(client, receiver.received, feeder.fed, drift, logDir);
      const totalSeconds = (Date.now() - journal.startedAt) / 1000;
      console.log(`\n${renderReport(findings, journal.tally, receiver, { chaosSeconds, drainSeconds, totalSeconds })}`);
      failed = findings.violations.length > 0;
      return failed ? 1 : 0;
    } finally {
      await client.end();
    }
  } finally {
    await cleanup();
  }
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
let options: SoakOptions;
try {
  options = parseOptions(args);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
}
// Should the event loop empty while the run still waits (a child that never answered), that is an error, not a pass.
process.exitCode = 2;
main(options).then(
  // Child pipes and native thread pools can keep the event loop alive; the run is over.
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(2);
  },
);
