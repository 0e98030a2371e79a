import { basename, dirname, join } from 'node:path';

/** The embedded server's superuser and database (what `psql` needs besides the port and the password). */
export const EMBEDDED_SUPERUSER = 'postgres';
export const EMBEDDED_DATABASE = 'embedding_tasks';

/** Where the generated password is kept: beside the data folder, never in it (a copied data folder stays safe). */
export function embeddedPasswordFile(dataDir: string): string {
  return join(dirname(dataDir), `.${basename(dataDir)}.password`);
}
