import { spawn } from 'node:child_process';
import { Command, CommandContext } from '../command';
import { databaseTarget } from '../database-target';
import { CliError } from '../errors';

export const psql: Command = {
  name: 'psql',
  args: [],
  rest: 'PSQL_ARGS',
  summary: "Run psql on the service's database (DATABASE_URL, else the embedded server)",
  details: [
    'Connects to DATABASE_URL when it is set; else to the embedded PostgreSQL the service starts from this folder',
    '(EMBEDDED_PG_DATA_DIR, EMBEDDED_PG_PORT; user postgres, database embedding_tasks), with the password from the',
    'file beside its data folder. The password goes to psql in PGPASSWORD, never on its command line.',
    "Arguments after -- go to psql as they are: embedding-tasks psql -- -c 'SELECT count(*) FROM mgmt.task'",
  ].join('\n'),
  options: {},
  run: runPsql,
};

function runPsql({ env, args, io }: CommandContext): Promise<number> {
  const target = databaseTarget(env);
  if (target.passwordFile) io.stderr.write(`connecting to ${target.url} (password from ${target.passwordFile})\n`);
  const child = spawn('psql', [target.url, ...args], {
    stdio: 'inherit',
    env: { ...process.env, ...(target.password === undefined ? {} : { PGPASSWORD: target.password }) },
  });
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new CliError('psql not found: install the PostgreSQL client (e.g. apt install postgresql-client)')
          : error,
      ),
    );
    child.once('close', (code) => resolve(code ?? 1));
  });
}
