#!/usr/bin/env node
import { runCli } from './cli';

/*
 * The CLI is a client of the service, not a part of it: the service's AppConfig describes a server (database,
 * models, sender) and would refuse to load without its settings, so the CLI reads only its own two variables,
 * and the database's three for `psql`, here and nowhere else.
 */
const env = {
  EMBEDDING_TASKS_URL: process.env.EMBEDDING_TASKS_URL,
  EMBEDDING_TASKS_API_KEY: process.env.EMBEDDING_TASKS_API_KEY,
  DATABASE_URL: process.env.DATABASE_URL,
  EMBEDDED_PG_DATA_DIR: process.env.EMBEDDED_PG_DATA_DIR,
  EMBEDDED_PG_PORT: process.env.EMBEDDED_PG_PORT,
};

// `embedding-tasks export 1 | head` closes stdout early: that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

runCli(process.argv.slice(2), env, { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(
      `embedding-tasks: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
