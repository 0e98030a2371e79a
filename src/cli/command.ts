import type { ApiClient } from './api-client';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder shown in help, e.g. `N` in `--limit N`. */
  placeholder?: string;
  description: string;
}

export type OptionValues = Record<string, string | boolean | undefined>;

export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/**
 * The variables the CLI reads: its own two, and for `psql` alone the service's database settings (unset: the
 * embedded server's defaults of config/defaults.env).
 */
export interface CliEnv {
  EMBEDDING_TASKS_URL?: string;
  EMBEDDING_TASKS_API_KEY?: string;
  DATABASE_URL?: string;
  EMBEDDED_PG_DATA_DIR?: string;
  EMBEDDED_PG_PORT?: string;
}

export interface CommandContext {
  client: ApiClient;
  env: CliEnv;
  /** The positional arguments, exactly as many as `Command.args` names. */
  args: string[];
  options: OptionValues;
  io: Io;
}

export interface Command {
  name: string;
  /** Positional arguments, by their placeholder (`FILE`, `ID`). */
  args: string[];
  /** Any number of further arguments after `--`, passed on as they are (shown in help by this placeholder). */
  rest?: string;
  summary: string;
  /** Paragraphs for `<command> --help`, after the summary. */
  details?: string;
  options: Record<string, OptionSpec>;
  run(context: CommandContext): Promise<number>;
}
