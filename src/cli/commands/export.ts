import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { optionalString, taskId } from '../args';
import { ApiClient, ExportQuery } from '../api-client';
import { Command, CommandContext } from '../command';
import { EXIT } from '../errors';

export const exportCommand: Command = {
  name: 'export',
  args: ['ID'],
  summary: "Write a task's stored vectors as JSON lines: {chunk_id, text, metadata, model, embedding}",
  details: [
    'One line per chunk that has a stored vector for the model, in the order the chunks were added, streamed by the',
    'server in one request (GET /tasks/ID/embeddings). Chunks without one (not done yet, or failed) are left out and',
    'counted on stderr.',
  ].join('\n'),
  options: {
    model: { type: 'string', placeholder: 'MODEL', description: "Whose vectors (default: the task's model)" },
    out: { type: 'string', placeholder: 'FILE', description: 'Write to FILE (whole or not at all) instead of stdout' },
    'no-text': { type: 'boolean', description: 'Leave out the text' },
    'no-metadata': { type: 'boolean', description: 'Leave out the metadata' },
  },
  run: runExport,
};

async function runExport({ client, args: [rawId], options, io }: CommandContext): Promise<number> {
  const id = taskId(rawId);
  const task = await client.getTask(id);
  const query = {
    model: optionalString(options, 'model') ?? task.model,
    text: !options['no-text'],
    metadata: !options['no-metadata'],
  };
  const out = optionalString(options, 'out');
  const written = out ? await exportToFile(client, id, query, out) : await writeVectors(client, id, query, io.stdout);
  const where = out ? ` to ${out}` : '';
  io.stderr.write(`exported ${written} vectors of task ${id} (model ${query.model})${where}\n`);
  // The task's total when the export began; chunks added since are neither counted nor, maybe, exported.
  const missing = task.progress.total - written;
  if (missing > 0) {
    io.stderr.write(
      `${missing} chunks have no stored vector for model ${query.model} (not done, or failed) and were left out\n`,
    );
  }
  return EXIT.ok;
}

/** Writes next to FILE and renames at the end, so FILE never holds half an export. */
async function exportToFile(client: ApiClient, id: number, query: ExportQuery, file: string): Promise<number> {
  const partial = `${file}.partial-${process.pid}`;
  const stream = createWriteStream(partial);
  try {
    await once(stream, 'open');
    const written = await writeVectors(client, id, query, stream);
    stream.end();
    await once(stream, 'finish');
    await rename(partial, file);
    return written;
  } catch (error) {
    stream.destroy();
    await rm(partial, { force: true });
    throw error;
  }
}

/** Copies the server's lines as they come, at the pace `out` takes them; answers how many lines. */
async function writeVectors(
  client: ApiClient,
  id: number,
  query: ExportQuery,
  out: NodeJS.WritableStream,
): Promise<number> {
  let lines = 0;
  for await (const piece of await client.exportEmbeddings(id, query)) {
    lines += countNewlines(piece);
    if (!out.write(piece)) await once(out, 'drain');
  }
  return lines;
}

function countNewlines(bytes: Uint8Array): number {
  let count = 0;
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) count++;
  return count;
}
