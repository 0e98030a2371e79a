import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, rmSync, WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ensureModel } from '../../test/fixtures/model/make-model';
import { freePort } from '../../test/ports';
import { Chaos } from './chaos';
import { Feeder } from './feeder';
import { Journal } from './journal';
import { SoakOptions } from './options';
import { SoakPostgres } from './postgres';
import { FaultReceiver } from './receiver';
import { renderReport, RunFigures } from './report';
import { SenderFleet } from './senders';
import { drain, processViolations, verify } from './verify';

const MODEL = 'tiny';

/** One soak run: set-up, chaos, drain, verdict, clean-up; its folder holds PostgreSQL's data and every log. */
export class Soak {
  readonly journal: Journal;
  private readonly dir = mkdtempSync(join(tmpdir(), 'embedding-tasks-soak-'));
  private readonly logDir = join(this.dir, 'logs');
  private readonly pgLog: WriteStream;
  private readonly receiver: FaultReceiver;
  private postgres?: SoakPostgres;
  private fleet?: SenderFleet;
  private feeder?: Feeder;
  private failed = true;
  private cleaning?: Promise<void>;

  constructor(private readonly options: SoakOptions) {
    this.journal = new Journal(options.seed);
    // Under root PostgreSQL runs as the postgres user, which must reach its data folder inside.
    chmodSync(this.dir, 0o755);
    mkdirSync(this.logDir);
    this.pgLog = createWriteStream(join(this.logDir, 'postgres.log'));
    const { hangRate, hangS, poisonStatus } = options;
    this.receiver = new FaultReceiver({ hangRate, hangMs: hangS * 1000, poisonStatus }, this.journal);
  }

  /** Runs the whole soak; resolves with the exit code (0: no violation, 1: violations). */
  async run(): Promise<number> {
    const o = this.options;
    this.journal.event(`soak: ${o.minutes} min of chaos, seed ${o.seed}, folder ${this.dir}`);
    await this.start();
    const chaosStart = Date.now();
    await new Chaos(o, this.fleet!, this.receiver, this.postgres!, this.feeder!, this.journal).run(o.minutes * 60_000);
    await this.feeder!.close();
    const chaosSeconds = (Date.now() - chaosStart) / 1000;
    this.journal.event('chaos over; waiting for every sender, then for the backlog to drain');
    await this.fleet!.waitReady();
    const code = await this.check(chaosSeconds);
    this.failed = code !== 0;
    return code;
  }

  /** Stops everything the run started; a second call (Ctrl-C during clean-up) waits for the first. */
  cleanup(): Promise<void> {
    this.cleaning ??= this.stopAll();
    return this.cleaning;
  }

  private async stopAll(): Promise<void> {
    await this.fleet?.close();
    await this.receiver.stop();
    await this.postgres?.stop('fast');
    this.pgLog.end();
    if (this.options.keep || this.failed) this.journal.event(`kept ${this.dir} (logs in ${this.logDir})`);
    else rmSync(this.dir, { recursive: true, force: true });
  }

  private async start(): Promise<void> {
    const modelDir = await ensureModel(MODEL);
    this.postgres = new SoakPostgres(join(this.dir, 'pg'), await freePort(), (line) => this.pgLog.write(`${line}\n`));
    const databaseUrl = await this.postgres.start();
    await this.receiver.start();
    const env = senderEnv(this.options, databaseUrl, modelDir, this.receiver.url);
    const shown = Object.entries(env).filter(([key]) => /^(SENDER|RECEIVER)_/.test(key));
    this.journal.event(`senders: ${shown.map(([key, value]) => `${key}=${value}`).join(' ')}`);
    this.fleet = new SenderFleet(this.options.senders, env, this.logDir, this.journal, (owner) =>
      leasesHeldBy(databaseUrl, owner),
    );
    await this.fleet.start();
    this.journal.event(`${this.options.senders} senders up; chaos begins`);
    const { poisonRate, maxChunksPerTask } = this.options;
    const postgres = this.postgres;
    this.feeder = new Feeder(
      () => postgres.url,
      this.receiver.poisonHashes,
      { model: MODEL, poisonRate, maxChunksPerTask },
      this.journal,
    );
  }

  /** Drains (bounded), then holds the database and the receiver to the promises and prints the report. */
  private async check(chaosSeconds: number): Promise<number> {
    const client = new Client({ connectionString: this.postgres!.url, application_name: 'soak-check' });
    await client.connect();
    try {
      const drainStart = Date.now();
      const open = await drain(client, this.options.drainMinutes * 60_000, this.journal);
      const drainSeconds = (Date.now() - drainStart) / 1000;
      this.journal.event(
        open === 0 ? `drained in ${drainSeconds.toFixed(0)} s` : `still ${open} open links after the drain`,
      );
      const drift = (await (await fetch(`${this.fleet!.apis()[0]}/tasks/counts/drift`)).json()) as {
        drifted: unknown[];
      };
      const findings = await verify(client, this.receiver.received, this.feeder!.fed, drift, this.logDir);
      findings.violations.push(...processViolations(this.journal.tally));
      const figures: RunFigures = {
        chaosSeconds,
        drainSeconds,
        totalSeconds: (Date.now() - this.journal.startedAt) / 1000,
      };
      console.log(`\n${renderReport(findings, this.journal.tally, this.receiver, figures)}`);
      return findings.violations.length > 0 ? 1 : 0;
    } finally {
      await client.end();
    }
  }
}

/** Links in progress under `owner`'s lease, on a connection of its own (the database may be restarting). */
async function leasesHeldBy(databaseUrl: string, owner: string): Promise<number> {
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM mgmt.embed_task_chunk WHERE status = 'in_progress' AND lease_owner = $1`,
      [owner],
    );
    return rows[0].n;
  } finally {
    await client.end();
  }
}

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
