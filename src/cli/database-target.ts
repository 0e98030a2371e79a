import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { readDefaults } from '../config/config.loader';
import { EMBEDDED_DATABASE, EMBEDDED_SUPERUSER, embeddedPasswordFile } from '../database/embedded-connection';
import { CliEnv } from './command';
import { CliError } from './errors';

/** Where psql connects: the URL without its password, which travels in PGPASSWORD (never on a command line). */
export interface DatabaseTarget {
  url: string;
  password?: string;
  /** Where the embedded server's password was read from; undefined for DATABASE_URL. */
  passwordFile?: string;
}

/**
 * The service's database, as the service finds it: DATABASE_URL when set, else the embedded server of
 * EMBEDDED_PG_DATA_DIR (relative to the working folder, as for the service) and EMBEDDED_PG_PORT, whose password
 * is in the file beside its data folder.
 */
export function databaseTarget(env: CliEnv, defaults: Record<string, string> = readDefaults()): DatabaseTarget {
  if (env.DATABASE_URL) {
    const url = new URL(env.DATABASE_URL);
    const password = url.password ? decodeURIComponent(url.password) : undefined;
    url.password = '';
    return { url: url.toString(), password };
  }
  const dataDir = resolve(env.EMBEDDED_PG_DATA_DIR || defaults.EMBEDDED_PG_DATA_DIR);
  const port = env.EMBEDDED_PG_PORT || defaults.EMBEDDED_PG_PORT;
  const passwordFile = embeddedPasswordFile(dataDir);
  const url = `postgres://${EMBEDDED_SUPERUSER}@127.0.0.1:${port}/${EMBEDDED_DATABASE}`;
  return { url, password: readPassword(passwordFile), passwordFile };
}

function readPassword(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new CliError(
      `no embedded database password in ${file}: start the service once (npm start) from this folder, ` +
        'or set DATABASE_URL (or EMBEDDED_PG_DATA_DIR) as the service has it',
    );
  }
}
