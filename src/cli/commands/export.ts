import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { optionalString, taskId } from '../args';
import { ApiClient, TaskChunkPage } from '../api-client';
import { Command, CommandContext } from '../command';
import { EXIT } from '../errors';

/** The API's largest page. */
const PAGE_SIZE = 1000;
/** Requests in flight at once: enough to hide latency, few enough not to crowd a busy server. */
const CONCURRENCY = 8;

export const exportCommand: Command = {
  name: 'export',
  args: ['ID'],
  summary: "Write a task's stored vectors as JSON lines: {chunk_id, text, metadata, model, embedding}",
  details: [
    'One line per chunk that has a stored vector for the model, in the order the chunks were added. Chunks without',
    'one (not done yet, or failed) are left out and counted on stderr. Metadata costs one more request per chunk.',
  ].join('\n'),
  options: {
    model: { type: 'string', placeholder: 'MODEL', description: "Whose vectors (default: the task's model)" },
    out: { type: 'string', placeholder: 'FILE', description: 'Write to FILE (whole or not at all) instead of stdout' },
    'no-text': { type: 'boolean', description: 'Leave out the text' },
    'no-metadata': { type: 'boolean', description: 'Leave out the metadata' },
  },
  run: runExport,
};

interface ExportShape {
  model: string;
  text: boolean;
  metadata: boolean;
}

async function runExport({ client, args: [rawId], options, io }: CommandContext): Promise<number> {
  const id = taskId(rawId);
  const task = await client.getTask(id);
  const shape = {
    model: optionalString(options, 'model') ?? task.model,
    text: !options['no-text'],
    metadata: !options['no-metadata'],
  };
  const out = optionalString(options, 'out');
  const counts = out ? await exportToFile(client, id, shape, out) : await writeVectors(client, id, shape, io.stdout);
  const where = out ? ` to ${out}` : '';
  io.stderr.write(`exported ${counts.written} vectors of task ${id} (model ${shape.model})${where}\n`);
  if (counts.missing > 0) {
    io.stderr.write(
      `${counts.missing} chunks have no stored vector for model ${shape.model} (not done, or failed) and were left out\n`,
    );
  }
  return EXIT.ok;
}

/** Writes next to FILE and renames at the end, so FILE never holds half an export. */
async function exportToFile(client: ApiClient, id: number, shape: ExportShape, file: string) {
  const partial = `${file}.partial-${process.pid}`;
  const stream = createWriteStream(partial);
  try {
    await once(stream, 'open');
    const counts = await writeVectors(client, id, shape, stream);
    stream.end();
    await once(stream, 'finish');
    await rename(partial, file);
    return counts;
  } catch (error) {
    stream.destroy();
    await rm(partial, { force: true });
    throw error;
  }
}

/** Pages through the task's chunks (ordered by when they were added, so pages do not shift). */
async function writeVectors(client: ApiClient, id: number, shape: ExportShape, out: NodeJS.WritableStream) {
  const counts = { written: 0, missing: 0 };
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const page = await client.listTaskChunks(id, { limit: PAGE_SIZE, offset });
    const lines = await mapLimit(page.items, CONCURRENCY, (item) => exportLine(client, item, shape));
    for (const line of lines) {
      if (line === undefined) {
        counts.missing++;
        continue;
      }
      counts.written++;
      if (!out.write(line)) await once(out, 'drain');
    }
    if (page.items.length < PAGE_SIZE || offset + page.items.length >= page.total) return counts;
  }
}

async function exportLine(
  client: ApiClient,
  item: TaskChunkPage['items'][number],
  shape: ExportShape,
): Promise<string | undefined> {
  const stored = await client.getEmbedding(item.chunkId, shape.model);
  if (!stored) return undefined;
  const metadata = shape.metadata ? (await client.getChunk(item.chunkId)).metadata : undefined;
  const record = {
    chunk_id: item.chunkId,
    ...(shape.text ? { text: item.text } : {}),
    ...(shape.metadata ? { metadata } : {}),
    model: stored.model,
    embedding: stored.embedding,
  };
  return `${JSON.stringify(record)}\n`;
}

/** `Promise.all(items.map(work))` with at most `limit` in flight, results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
