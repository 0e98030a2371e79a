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

export interface CommandContext {
  client: ApiClient;
  /** The positional arguments, exactly as many as `Command.args` names. */
  args: string[];
  options: OptionValues;
  io: Io;
}

export interface Command {
  name: string;
  /** Positional arguments, by their placeholder (`FILE`, `ID`). */
  args: string[];
  summary: string;
  /** Paragraphs for `<command> --help`, after the summary. */
  details?: string;
  options: Record<string, OptionSpec>;
  run(context: CommandContext): Promise<number>;
}
