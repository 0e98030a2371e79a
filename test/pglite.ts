import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface PgliteServer {
  /** postgres://… of the socket server; any database name reaches the one database PGlite holds. */
  url: string;
  stop(): Promise<void>;
}

/**
 * A real pgvector: PostgreSQL compiled to WebAssembly (PGlite 0.5, PostgreSQL 18, pgvector 0.8) with its pgvector
 * extension, in memory, in a child process (test/pglite-server.mjs), served over the PostgreSQL wire protocol on a
 * free loopback port, so `pg` and TypeORM reach it like any server. PGlite is one backend: pglite-socket multiplexes
 * `connections` clients onto it, message by message, and an open transaction keeps it to its own connection until it
 * ends. Session state (SET, advisory locks, LISTEN) is therefore shared by all connections.
 */
export async function startPglite(connections = 10): Promise<PgliteServer> {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [join(__dirname, 'pglite-server.mjs'), String(connections)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let errors = '';
  child.stderr.on('data', (data: Buffer) => (errors += data.toString()));
  const lines = createInterface({ input: child.stdout });
  const first = await Promise.race([
    once(lines, 'line').then(([line]) => line as string),
    once(child, 'exit').then(() => undefined),
  ]);
  if (!first) throw new Error(`PGlite did not start: ${errors}`);
  const { port } = JSON.parse(first) as { port: number };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.stdin.end();
      await exited;
    },
  };
}
