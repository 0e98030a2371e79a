// PGlite with pgvector, served over the PostgreSQL wire protocol on a free loopback port (see test/pglite.ts, which
// starts it). A process of its own: PGlite loads its WebAssembly with dynamic imports, which Jest's module sandbox
// cannot run, and its CPU time then stays out of the test's. Prints {"port": N} once listening; ends when its
// standard input closes (the parent went away) or on SIGTERM.
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const connections = Number(process.argv[2] ?? 10);
const db = await PGlite.create({ extensions: { vector } });
const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: connections });
await server.start();
process.stdout.write(`${JSON.stringify({ port: Number(server.getServerConn().split(':').pop()) })}\n`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.stop();
  await db.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
