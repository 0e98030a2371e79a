import { choiceOption, commandHelp, intOption, parseCommandLine, taskId, toolHelp } from './args';
import { COMMANDS } from './commands';
import { UsageError } from './errors';

describe('parseCommandLine', () => {
  const parse = (line: string) => parseCommandLine(line.split(' ').filter(Boolean), COMMANDS);

  it('takes global options before or after the command, and options in any order', () => {
    const line = parse('--url http://h:1 submit data.jsonl --model m --no-follow --api-key k');
    expect(line).toMatchObject({ kind: 'run', command: { name: 'submit' }, args: ['data.jsonl'] });
    expect(line.kind === 'run' && line.options).toMatchObject({
      url: 'http://h:1',
      model: 'm',
      'no-follow': true,
      'api-key': 'k',
    });
    expect(parse('--api-key=k list --limit=5')).toMatchObject({ kind: 'run', options: { 'api-key': 'k', limit: '5' } });
  });

  it('answers help for the tool, for a command, and the version', () => {
    expect(parse('--help')).toEqual({ kind: 'help' });
    expect(parse('help')).toEqual({ kind: 'help', command: undefined });
    expect(parse('help export')).toMatchObject({ kind: 'help', command: { name: 'export' } });
    expect(parse('submit --help')).toMatchObject({ kind: 'help', command: { name: 'submit' } });
    expect(parse('-V')).toEqual({ kind: 'version' });
  });

  it.each([
    ['', 'missing command'],
    ['frobnicate', 'unknown command "frobnicate"; commands: submit, status, watch, list, retry, cancel, export'],
    ['status', 'status takes ID; got none'],
    ['status 1 2', 'status takes ID; got 1 2'],
    ['list extra', 'list takes no arguments; got extra'],
    ['list --bogus', "Unknown option '--bogus'; see embedding-tasks list --help"],
  ])('refuses "%s" as a usage error', (line, message) => {
    expect(() => parse(line)).toThrow(UsageError);
    expect(() => parse(line)).toThrow(message);
  });
});

describe('option values', () => {
  it('reads integers within bounds, with a fallback', () => {
    expect(intOption({ limit: '5' }, 'limit', 20, { min: 1 })).toBe(5);
    expect(intOption({}, 'limit', 20)).toBe(20);
    expect(intOption({ priority: '-3' }, 'priority', undefined, { min: -1000, max: 1000 })).toBe(-3);
    expect(() => intOption({ limit: '0' }, 'limit', 20, { min: 1, max: 1000 })).toThrow(
      '--limit must be an integer >= 1 and <= 1000; got "0"',
    );
    expect(() => intOption({ batch: '1.5' }, 'batch', 1)).toThrow('--batch must be an integer; got "1.5"');
  });

  it('reads choices and task ids', () => {
    expect(choiceOption({ status: 'failed' }, 'status', ['failed', 'done'])).toBe('failed');
    expect(choiceOption({}, 'status', ['failed', 'done'])).toBeUndefined();
    expect(() => choiceOption({ status: 'x' }, 'status', ['failed', 'done'])).toThrow(
      '--status must be one of: failed, done; got "x"',
    );
    expect(taskId('12')).toBe(12);
    expect(() => taskId('0')).toThrow('task id must be a positive integer; got "0"');
    expect(() => taskId('abc')).toThrow(UsageError);
  });
});

describe('help', () => {
  it('lists every command and the exit codes, and each command its options', () => {
    const help = toolHelp(COMMANDS);
    for (const command of COMMANDS) expect(help).toContain(command.summary);
    expect(help).toContain('Exit codes: 0');
    expect(help).toContain('EMBEDDING_TASKS_URL');
    const submit = commandHelp(COMMANDS.find((command) => command.name === 'submit')!);
    for (const option of ['--model MODEL', '--no-follow', '--chunk-size CHARS', '--batch N', '--api-key KEY'])
      expect(submit).toContain(option);
  });

  it('starts every option description in one column, -V, --version included', () => {
    const helps = [toolHelp(COMMANDS), ...COMMANDS.map(commandHelp)];
    for (const help of helps) {
      const options = help.split('\n').filter((line) => /^ {2}(-\w, | {4})--/.test(line));
      // Where the description starts: after the first run of two or more spaces that follows the flag.
      const columns = new Set(options.map((line) => /^ *\S.*?\S {2,}(?=\S)/.exec(line)![0].length));
      expect(options.length).toBeGreaterThan(0);
      expect([...columns]).toHaveLength(1);
    }
    expect(toolHelp(COMMANDS)).toMatch(/^ {2}-V, --version {2,}Show the version$/m);
  });
});
