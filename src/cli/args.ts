import { parseArgs } from 'node:util';
import { Command, OptionSpec, OptionValues } from './command';
import { UsageError } from './errors';

export const TOOL = 'embedding-tasks';
export const DEFAULT_URL = 'http://localhost:3000';

/** Options every command takes, wherever they stand on the line. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  url: {
    type: 'string',
    placeholder: 'URL',
    description: `Service URL (env EMBEDDING_TASKS_URL; default ${DEFAULT_URL})`,
  },
  'api-key': {
    type: 'string',
    placeholder: 'KEY',
    description: 'API key, sent as a Bearer token (env EMBEDDING_TASKS_API_KEY)',
  },
  help: { type: 'boolean', short: 'h', description: 'Show help' },
};

export type CommandLine =
  | { kind: 'help'; command?: Command }
  | { kind: 'version' }
  | { kind: 'run'; command: Command; args: string[]; options: OptionValues };

/** `[global options] COMMAND [args and options in any order]`; `help [COMMAND]` and `--help` anywhere show help. */
export function parseCommandLine(argv: string[], commands: Command[]): CommandLine {
  const at = commandIndex(argv);
  if (at === -1) {
    if (argv.includes('--version') || argv.includes('-V')) return { kind: 'version' };
    if (argv.includes('--help') || argv.includes('-h')) return { kind: 'help' };
    throw new UsageError('missing command');
  }
  const name = argv[at];
  const rest = [...argv.slice(0, at), ...argv.slice(at + 1)];
  if (name === 'help') return { kind: 'help', command: rest[0] ? findCommand(rest[0], commands) : undefined };
  const command = findCommand(name, commands);
  const { values, positionals } = parseOptions(command, rest);
  if (values.help) return { kind: 'help', command };
  if (command.rest && positionals.length >= command.args.length) {
    return { kind: 'run', command, args: positionals, options: values };
  }
  if (positionals.length !== command.args.length) {
    const expected = command.args.length === 0 ? 'no arguments' : command.args.join(' ');
    throw new UsageError(
      `${command.name} takes ${expected}; got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`,
    );
  }
  return { kind: 'run', command, args: positionals, options: values };
}

/** The first word that is neither an option nor the value of a global option. */
function commandIndex(argv: string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') return i + 1 < argv.length ? i + 1 : -1;
    if (!token.startsWith('-') || token === '-') return i;
    if (token === '--url' || token === '--api-key') i++;
  }
  return -1;
}

function findCommand(name: string, commands: Command[]): Command {
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"; commands: ${commands.map((c) => c.name).join(', ')}`);
  return command;
}

function parseOptions(command: Command, args: string[]): { values: OptionValues; positionals: string[] } {
  const options = Object.fromEntries(
    Object.entries({ ...GLOBAL_OPTIONS, ...command.options }).map(([name, { type, short }]) => [
      name,
      short ? { type, short } : { type },
    ]),
  );
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    if (!String((error as { code?: string }).code).startsWith('ERR_PARSE_ARGS')) throw error;
    // parseArgs explains well ("Unknown option '--x'"), but says nothing of where to look next.
    const first = (error as Error).message.split(/\.\s/)[0];
    throw new UsageError(`${first}; see ${TOOL} ${command.name} --help`);
  }
}

export function requiredString(options: OptionValues, name: string): string {
  const value = options[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

export function optionalString(options: OptionValues, name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' ? value : undefined;
}

/** An integer option within [min, max], or `fallback` when absent. */
export function intOption<T extends number | undefined>(
  options: OptionValues,
  name: string,
  fallback: T,
  range: { min?: number; max?: number } = {},
): number | T {
  const raw = options[name];
  if (typeof raw !== 'string') return fallback;
  const value = Number(raw);
  const { min = -Infinity, max = Infinity } = range;
  if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
    const bounds = [min > -Infinity ? `>= ${min}` : '', max < Infinity ? `<= ${max}` : '']
      .filter(Boolean)
      .join(' and ');
    throw new UsageError(`--${name} must be an integer${bounds ? ` ${bounds}` : ''}; got "${raw}"`);
  }
  return value;
}

export function choiceOption<T extends string>(
  options: OptionValues,
  name: string,
  choices: readonly T[],
  fallback: T,
): T;
export function choiceOption<T extends string>(
  options: OptionValues,
  name: string,
  choices: readonly T[],
): T | undefined;
export function choiceOption<T extends string>(
  options: OptionValues,
  name: string,
  choices: readonly T[],
  fallback?: T,
) {
  const raw = options[name];
  if (typeof raw !== 'string') return fallback;
  if (!(choices as readonly string[]).includes(raw))
    throw new UsageError(`--${name} must be one of: ${choices.join(', ')}; got "${raw}"`);
  return raw as T;
}

export function taskId(raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 2147483647) {
    throw new UsageError(`task id must be a positive integer; got "${raw}"`);
  }
  return Number(raw);
}

export function toolHelp(commands: Command[]): string {
  const width = Math.max(...commands.map((command) => usageOf(command).length));
  return [
    `${TOOL}: submit text to an embedding-tasks service and follow its tasks`,
    '',
    `Usage: ${TOOL} <command> [options]`,
    '',
    'Commands:',
    ...commands.map((command) => `  ${usageOf(command).padEnd(width)}  ${command.summary}`),
    '',
    'Options of every command:',
    // --version is the tool's alone (no command takes it), but its line lines up with the others.
    optionsHelp({ ...GLOBAL_OPTIONS, version: { type: 'boolean', short: 'V', description: 'Show the version' } }),
    '',
    EXIT_CODES_HELP,
    '',
    `Run ${TOOL} <command> --help for a command's options.`,
  ].join('\n');
}

export function commandHelp(command: Command): string {
  const sections = [`Usage: ${TOOL} ${usageOf(command)} [options]`, '', command.summary];
  if (command.details) sections.push('', command.details);
  if (Object.keys(command.options).length > 0) sections.push('', 'Options:', optionsHelp(command.options));
  sections.push('', 'Options of every command:', optionsHelp(GLOBAL_OPTIONS));
  return sections.join('\n');
}

const EXIT_CODES_HELP =
  'Exit codes: 0 success (a followed task completed), 1 error (unreachable, refused, bad input), 2 bad command line,\n' +
  '  3 the task failed, 4 the task was cancelled, 130 interrupted.';

const usageOf = (command: Command) =>
  [command.name, ...command.args, ...(command.rest ? [`[-- ${command.rest}…]`] : [])].join(' ');

/** One line per option, the descriptions in one column (at least 22 wide, wider when a flag needs it). */
function optionsHelp(options: Record<string, OptionSpec>): string {
  const flags = Object.entries(options).map(
    ([name, spec]) =>
      `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.placeholder ? ` ${spec.placeholder}` : ''}`,
  );
  const width = Math.max(22, ...flags.map((flag) => flag.length));
  return Object.values(options)
    .map((spec, i) => `  ${flags[i].padEnd(width)}  ${spec.description}`)
    .join('\n');
}
