import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { InvalidConfigError, loadConfig, peekLogSettings } from './config/config.loader';
import { packageVersion } from './config/package-version';
import { bootLogger } from './logging/boot-logger';
import { EmbeddedPostgresMissingError, EmbeddedPostgresServer } from './database/embedded-postgres';
import { DatabaseUnreachableError, waitForDatabase } from './database/wait-for-database';
import { EmbeddingError } from './embedding/embedding.errors';
import { describeWithStack, maskQuoted } from './logging/safe-error';
import { PgvectorMissingError } from './search/search-backend';

const logger = new Logger('Main');

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  if (config.database.url) {
    await waitForDatabase(config.database.url, {
      waitMs: config.database.startupWaitMs,
      warn: (line) => logger.warn(line),
      log: (line) => logger.log(line),
    });
  }
  const embedded = config.database.url ? undefined : await startEmbeddedPostgres(config.database.embedded);
  if (embedded) config.database.url = embedded.url;
  const app = await createApp(config).catch(async (error) => {
    await embedded?.server.stop();
    throw error;
  });
  await app.listen(config.http.port, config.http.host);
  logger.log(`Listening on http://${config.http.host}:${config.http.port} (API docs at /apidocs)`);
  onShutdownSignal(async () => {
    await app.close();
    await embedded?.server.stop();
  });
}

async function startEmbeddedPostgres(options: { dataDir: string; port: number }) {
  logger.log(`DATABASE_URL is unset: starting embedded PostgreSQL with data in ${options.dataDir}`);
  // Quoted values in the server's messages are masked, as in every other error line.
  const log = (line: string) => logger.debug(maskQuoted(line), 'EmbeddedPostgres');
  const server = new EmbeddedPostgresServer({ ...options, log });
  const url = await server.start().catch((error: Error) => {
    // The Docker images leave the server's binaries out (one process per container; see docs/docker.md).
    if (!(error instanceof EmbeddedPostgresMissingError)) throw error;
    throw new InvalidConfigError(
      `DATABASE_URL is unset and this installation has no embedded PostgreSQL (${error.message})`,
    );
  });
  logger.log(`Embedded PostgreSQL is up: ${maskedUrl(url)} (password in ${server.passwordFile})`);
  return { server, url };
}

/** The URL with its password masked, to print: what psql needs besides the password file. */
function maskedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '****';
  return parsed.toString();
}

/** Stop taking requests, let modules finish their work, then stop the database they used. */
function onShutdownSignal(shutdown: () => Promise<void>): void {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.log(`${signal} received: shutting down`);
      shutdown().then(
        () => process.exit(0),
        (error) => {
          logger.error(`shutdown failed: ${error}`);
          process.exit(1);
        },
      );
    });
  }
}

if (process.argv.includes('--version') || process.argv.includes('-V')) {
  process.stdout.write(`${packageVersion()}\n`);
  process.exit(0);
}
// Until pino takes over in createApp, this one prints, in LOG_FORMAT from the first line (a bad setting included).
const boot = peekLogSettings();
Logger.overrideLogger(bootLogger(boot.format, boot.level));

bootstrap().catch((error) => {
  // Configuration and model problems are the operator's to fix: their message says it all, a stack would bury it.
  const known =
    error instanceof InvalidConfigError ||
    error instanceof EmbeddingError ||
    error instanceof DatabaseUnreachableError ||
    error instanceof PgvectorMissingError;
  const message = known ? error.message : describeWithStack(error);
  logger.error(message);
  process.exit(1);
});
