import { Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { describeError } from '../logging/safe-error';
import { PgvectorExtension, SearchRepository } from './search.repository';

/**
 * Parts of an exact scan read side by side, each on a connection of its own: the server serialises the vectors of
 * one part while Node scores the other's (npm run bench -- search measured 1, 2 and 4).
 */
export const EXACT_SCAN_STREAMS = 2;

/** Iterative index scans (so that filtered searches still return k) came with pgvector 0.8.0. */
export const MIN_PGVECTOR = '0.8.0';

/** What searches run on, decided once at start-up from SEARCH_MODE and the database: pgvector, or exact alone. */
export class SearchBackend {
  constructor(
    /** Where the exact scan reads in parts side by side; 1 where the server runs one transaction at a time. */
    readonly scanStreams: number,
    readonly pgvector?: PgvectorExtension,
  ) {}
}

/** Thrown at start-up when SEARCH_MODE=pgvector cannot be honoured; the service does not start. */
export class PgvectorMissingError extends Error {}

const logger = new Logger('Search');

/**
 * auto and pgvector use pgvector when it is installed, or installable (CREATE EXTENSION vector, which needs the
 * server's pgvector files and the right to create it); auto falls back to the exact search and says why, once.
 */
export async function resolveSearchBackend(config: AppConfig, repository: SearchRepository): Promise<SearchBackend> {
  const { mode } = config.search;
  // PGlite (PostgreSQL in WebAssembly, one backend behind its socket server) holds one transaction at a time: the
  // parts of a scan, each a transaction on its own connection, would wait for each other there.
  const streams = (await repository.serverVersion()).includes('PGlite') ? 1 : EXACT_SCAN_STREAMS;
  if (mode === 'exact') {
    logger.log('search is exact (SEARCH_MODE=exact)');
    return new SearchBackend(streams);
  }
  const found = await findPgvector(repository);
  if (typeof found !== 'string') {
    logger.log(`search uses pgvector ${found.version} HNSW indexes (SEARCH_MODE=${mode})`);
    return new SearchBackend(streams, found);
  }
  if (mode === 'pgvector') {
    throw new PgvectorMissingError(
      `SEARCH_MODE=pgvector, but ${found}: install pgvector ${MIN_PGVECTOR} or later on the database server ` +
        '(https://github.com/pgvector/pgvector), or set SEARCH_MODE=auto or exact',
    );
  }
  logger.log(`search is exact: ${found} (SEARCH_MODE=auto)`);
  return new SearchBackend(streams);
}

/** The usable extension, or why there is none. */
async function findPgvector(repository: SearchRepository): Promise<PgvectorExtension | string> {
  let installed = await repository.installedPgvector();
  if (!installed) {
    if (!(await repository.pgvectorAvailable())) return 'the database server has no pgvector extension';
    try {
      await repository.createPgvector();
    } catch (error) {
      // Another instance starting at the same moment may have created it: look again before giving up.
      installed = await repository.installedPgvector();
      if (!installed) return `CREATE EXTENSION vector failed (${describeError(error)})`;
    }
    installed ??= await repository.installedPgvector();
    if (!installed) return 'CREATE EXTENSION vector did not install it';
  }
  if (compareVersions(installed.version, MIN_PGVECTOR) < 0) {
    return `pgvector ${installed.version} is older than ${MIN_PGVECTOR} (ALTER EXTENSION vector UPDATE)`;
  }
  return installed;
}

export function compareVersions(a: string, b: string): number {
  const [x, y] = [a, b].map((version) => version.split('.').map((part) => Number.parseInt(part, 10) || 0));
  for (let index = 0; index < Math.max(x.length, y.length); index++) {
    const difference = (x[index] ?? 0) - (y[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}
