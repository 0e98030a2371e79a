import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient, baseUrl } from './api-client';
import { commandHelp, DEFAULT_URL, optionalString, parseCommandLine, TOOL, toolHelp } from './args';
import { CliEnv, Io } from './command';
import { COMMANDS } from './commands';
import { CliError, EXIT } from './errors';

export type { CliEnv } from './command';

/** Runs one command line and answers the exit code; every failure is reported on stderr, none thrown. */
export async function runCli(argv: string[], env: CliEnv, io: Io): Promise<number> {
  try {
    const line = parseCommandLine(argv, COMMANDS);
    if (line.kind === 'version') return print(io.stdout, version());
    if (line.kind === 'help') return print(io.stdout, line.command ? commandHelp(line.command) : toolHelp(COMMANDS));
    const client = new ApiClient({
      url: baseUrl(optionalString(line.options, 'url') || env.EMBEDDING_TASKS_URL || DEFAULT_URL),
      apiKey: optionalString(line.options, 'api-key') || env.EMBEDDING_TASKS_API_KEY || undefined,
    });
    return await line.command.run({ client, env, args: line.args, options: line.options, io });
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    io.stderr.write(`${TOOL}: ${error.message}\n`);
    if (error.exitCode === EXIT.usage) io.stderr.write(`run ${TOOL} --help for usage\n`);
    return error.exitCode;
  }
}

function print(out: NodeJS.WritableStream, text: string): number {
  out.write(`${text}\n`);
  return EXIT.ok;
}

/** package.json is two folders up from both src/cli and dist/cli. */
function version(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return `${TOOL} ${pkg.version}`;
}
