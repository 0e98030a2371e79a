import { choiceOption, intOption, optionalString, requiredString } from '../args';
import { Command, CommandContext, OptionSpec } from '../command';
import { CliError, EXIT } from '../errors';
import { DEFAULT_CHUNK_SIZE, defaultTaskName, INPUT_FORMATS, readChunks } from '../input';
import { DEFAULT_BATCH, uploadTask } from '../upload';
import { DEFAULT_INTERVAL_MS, followAndReport } from './follow-command';

export const INTERVAL_OPTION: OptionSpec = {
  type: 'string',
  placeholder: 'MS',
  description: `Poll the task every MS milliseconds (default ${DEFAULT_INTERVAL_MS})`,
};

export const submit: Command = {
  name: 'submit',
  args: ['FILE'],
  summary: 'Create a task from a JSON-lines file, a text file or a folder, then follow it to its end',
  details: [
    'FILE is one of:',
    '  - JSON lines (.jsonl, .ndjson, or a file whose first line is JSON): each line {"text": ..., "metadata"?: {...}}',
    '    or a JSON string;',
    '  - plain text: one chunk per non-empty line (or split by size with --chunk-size);',
    `  - a folder: every file in it (sub-folders too, dot files left out) split into chunks of at most --chunk-size`,
    `    characters (default ${DEFAULT_CHUNK_SIZE}) at paragraph, line, sentence or word boundaries, with metadata {file, part};`,
    '  - "-": standard input, read as JSON lines or text like a file.',
    'The task id is printed on stdout; progress and messages go to stderr.',
  ].join('\n'),
  options: {
    model: { type: 'string', placeholder: 'MODEL', description: 'Model to embed with (required)' },
    name: { type: 'string', placeholder: 'NAME', description: 'Task name (default: the file or folder name)' },
    priority: {
      type: 'string',
      placeholder: 'P',
      description: 'Priority, -1000 to 1000; higher runs first (default 0)',
    },
    'no-follow': { type: 'boolean', description: 'Print the task id and return without following the task' },
    'chunk-size': {
      type: 'string',
      placeholder: 'CHARS',
      description: 'Split text into chunks of at most CHARS characters',
    },
    format: { type: 'string', placeholder: 'F', description: 'Input format: auto (default), jsonl or text' },
    batch: {
      type: 'string',
      placeholder: 'N',
      description: `Chunks per request (default ${DEFAULT_BATCH}; halved on 413)`,
    },
    interval: INTERVAL_OPTION,
  },
  run: runSubmit,
};

async function runSubmit({ client, args: [file], options, io }: CommandContext): Promise<number> {
  const model = requiredString(options, 'model');
  const priority = intOption(options, 'priority', undefined, { min: -1000, max: 1000 });
  const chunkSize = intOption(options, 'chunk-size', undefined, { min: 1 });
  const batch = intOption(options, 'batch', DEFAULT_BATCH, { min: 1 });
  const intervalMs = intOption(options, 'interval', DEFAULT_INTERVAL_MS, { min: 10 });
  const format = choiceOption(options, 'format', INPUT_FORMATS, 'auto');
  const name = optionalString(options, 'name') ?? defaultTaskName(file);

  const source = await readChunks(file, { format, chunkSize });
  if (source.skipped.length > 0)
    io.stderr.write(`left out ${source.skipped.length} files that are not text: ${preview(source.skipped)}\n`);
  if (source.chunks.length === 0) throw new CliError(`no chunks in ${file}: nothing to submit`);

  const task = await uploadTask(client, { name, model, priority }, source.chunks, batch, {
    halved: (from, to) =>
      io.stderr.write(`the server refused ${from} chunks in one request (413); sending ${to} at a time\n`),
    uploaded: (created, sent, total) => {
      if (sent < total) io.stderr.write(`task ${created.id}: uploaded ${sent} of ${total} chunks\n`);
    },
  });
  const files = source.files > 1 ? ` (${source.files} files)` : '';
  io.stderr.write(
    `task ${task.id} "${task.name}": ${source.chunks.length} chunks from ${file}${files}, model ${model}\n`,
  );
  if (task.waiting) io.stderr.write(`warning: ${task.waiting}; the task waits until a worker that serves it starts\n`);
  io.stdout.write(`${task.id}\n`);
  if (options['no-follow']) return EXIT.ok;
  return followAndReport(client, task.id, intervalMs, io);
}

function preview(names: string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')}, …`;
}
