import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, WriteStream } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../src/common/backoff';
import { freePort } from '../../test/ports';
import { Journal } from './journal';

const READY_LINE = 'Listening on';
const RESTART_DELAY_S: [number, number] = [2, 5];

/** One sender process at a time in a slot; the slot restarts it when it exits, as a Deployment would. */
interface Slot {
  index: number;
  generation: number;
  child?: ChildProcess;
  apiUrl?: string;
  /** Set when the soak itself stopped the process, so its exit is expected. */
  stoppedBy?: NodeJS.Signals;
  exited?: Promise<number | null>;
  lastError?: string;
}

/**
 * The sender processes: the real service (src/main.ts) with SENDER_ENABLED=true, each with its own API port and log
 * file. The first slot runs the migrations; every process that exits is started again after a few seconds.
 */
export class SenderFleet {
  private readonly slots: Slot[];
  /** Pids the soak itself stopped, so that their exits are not blamed on something else. */
  readonly stoppedOnPurpose = new Set<number>();
  private closing = false;
  private readonly loops: Promise<void>[] = [];

  constructor(
    count: number,
    private readonly env: Record<string, string>,
    private readonly logDir: string,
    private readonly journal: Journal,
    /** How many links are in progress under this lease owner (read from the database). */
    private readonly leasesHeldBy: (workerId: string) => Promise<number>,
  ) {
    this.slots = Array.from({ length: count }, (_, index) => ({ index, generation: 0 }));
  }

  /** Starts the first sender (it migrates), waits for its API, then the others. */
  async start(): Promise<void> {
    this.loops.push(this.supervise(this.slots[0]));
    await this.waitReady([this.slots[0]], 180_000);
    this.loops.push(...this.slots.slice(1).map((slot) => this.supervise(slot)));
    await this.waitReady(this.slots, 180_000);
  }

  /** The API URLs of the senders that are up now. */
  apis(): string[] {
    return this.slots.filter((slot) => slot.apiUrl && isRunning(slot.child)).map((slot) => slot.apiUrl!);
  }

  /** The pid of the sender serving `apiUrl` now, if one is running. */
  pidAt(apiUrl: string): number | undefined {
    const slot = this.slots.find((candidate) => candidate.apiUrl === apiUrl && isRunning(candidate.child));
    return slot?.child?.pid;
  }

  pids(): number[] {
    return this.slots.filter((slot) => isRunning(slot.child)).map((slot) => slot.child!.pid!);
  }

  /** Stops a random running sender with `signal`; SIGTERM gets its grace, then SIGKILL. */
  async stopOne(signal: 'SIGKILL' | 'SIGTERM', graceMs: number): Promise<void> {
    const running = this.slots.filter((slot) => slot.apiUrl && isRunning(slot.child));
    if (running.length === 0) return;
    const slot = this.journal.pick(running);
    slot.stoppedBy = signal;
    this.stoppedOnPurpose.add(slot.child!.pid!);
    const exited = slot.exited!;
    this.journal.event(`${signal} sender ${name(slot)} (pid ${slot.child!.pid})`);
    slot.child!.kill(signal);
    if (signal === 'SIGKILL') return void this.journal.tally.sigkills++;
    this.journal.tally.sigterms++;
    const code = await Promise.race([exited, sleep(graceMs + 15_000).then(() => 'timeout' as const)]);
    if (code === 0) return this.checkReleased(slot);
    this.journal.tally.sigtermUnclean++;
    this.journal.event(`sender ${name(slot)} did not exit cleanly on SIGTERM (${code}); SIGKILL`);
    slot.child?.kill('SIGKILL');
  }

  /** A sender that stopped cleanly on SIGTERM must have released every lease it held. */
  private async checkReleased(slot: Slot): Promise<void> {
    const held = await this.leasesHeldBy(workerId(slot)).catch(() => undefined);
    if (held === undefined) return this.journal.event(`could not count the leases ${name(slot)} left (database down?)`);
    if (held === 0) return;
    this.journal.tally.sigtermLeasesLeft += held;
    this.journal.event(`sender ${name(slot)} exited on SIGTERM still holding ${held} leases`);
  }

  /** Waits until every slot has a sender whose API answers. */
  async waitReady(slots = this.slots, timeoutMs = 300_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!slots.every((slot) => slot.apiUrl && isRunning(slot.child))) {
      if (Date.now() > until) throw new Error(`senders not up after ${timeoutMs / 1000} s`);
      await sleep(250);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const slot of this.slots) if (isRunning(slot.child)) slot.child!.kill('SIGTERM');
    await Promise.race([Promise.all(this.slots.flatMap((slot) => (slot.exited ? [slot.exited] : []))), sleep(30_000)]);
    for (const slot of this.slots) if (isRunning(slot.child)) slot.child!.kill('SIGKILL');
    await Promise.all(this.loops);
  }

  private async supervise(slot: Slot): Promise<void> {
    while (!this.closing) {
      const code = await this.run(slot);
      if (this.closing) return;
      if (!slot.stoppedBy) {
        this.journal.tally.unexpectedExits++;
        this.journal.event(`sender ${name(slot)} exited by itself (${code}): ${slot.lastError ?? 'no error logged'}`);
      }
      await sleep(this.journal.between(...RESTART_DELAY_S) * 1000);
    }
  }

  /** Runs one process in the slot until it exits; resolves with its exit code (null: killed by a signal). */
  private async run(slot: Slot): Promise<number | null> {
    slot.generation++;
    slot.stoppedBy = undefined;
    slot.apiUrl = undefined;
    slot.lastError = undefined;
    const port = await freePort();
    const log = createWriteStream(join(this.logDir, `sender-${slot.index + 1}.log`), { flags: 'a' });
    log.write(`\n--- ${name(slot)} started on port ${port} at ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      env: { ...this.env, ...this.slotEnv(slot, port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    slot.child = child;
    slot.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.journal.tally.senderStarts++;
    this.watchOutput(slot, child, log, `http://127.0.0.1:${port}`);
    const code = await slot.exited;
    log.end(`--- ${name(slot)} exited (${code ?? slot.stoppedBy ?? 'signal'})\n`);
    return code;
  }

  private slotEnv(slot: Slot, port: number): Record<string, string> {
    return {
      HOST: '127.0.0.1',
      PORT: String(port),
      WORKER_ID: workerId(slot),
      DATABASE_MIGRATIONS_RUN: slot.index === 0 ? 'true' : 'false',
    };
  }

  private watchOutput(slot: Slot, child: ChildProcess, log: WriteStream, apiUrl: string): void {
    let pending = '';
    const onData = (data: Buffer) => {
      log.write(data);
      pending += data.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line.includes(READY_LINE)) slot.apiUrl = apiUrl;
        const error = errorOf(line);
        if (error) slot.lastError = error;
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  }
}

const name = (slot: Slot) => `${slot.index + 1}.${slot.generation}`;

const workerId = (slot: Slot) => `soak-${name(slot)}`;

const isRunning = (child?: ChildProcess) => !!child && child.exitCode === null && child.signalCode === null;

/** The message of an error or fatal pino line (level 50 or more), cut short; undefined for other lines. */
function errorOf(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { level?: number; msg?: string };
    return (entry.level ?? 0) >= 50 ? String(entry.msg).slice(0, 160) : undefined;
  } catch {
    return /error/i.test(line) ? line.slice(0, 160) : undefined;
  }
}
