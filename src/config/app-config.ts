import { LogLevel } from './env.dto';

/**
 * The service's typed configuration, read once at start-up (see config.loader.ts).
 * The class doubles as the injection token, so tests can hand a module their own values.
 */
export class AppConfig {
  http: {
    host: string;
    port: number;
    bodyLimit: string;
    apiKey?: string;
  };
  logLevel: LogLevel;
  database: {
    /** Unset until main.ts has started the embedded server. */
    url?: string;
    poolSize: number;
    runMigrations: boolean;
    logging: boolean;
    embedded: { dataDir: string; port: number };
  };
  tasks: {
    maxChunksPerRequest: number;
  };
  health: {
    timeoutMs: number;
  };
}
