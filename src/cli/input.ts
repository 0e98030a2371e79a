import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, relative, sep } from 'node:path';
import type { ChunkInput } from './api-client';
import { CliError } from './errors';
import { splitText } from './split-text';

export const INPUT_FORMATS = ['auto', 'jsonl', 'text'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** About 250 tokens of English, under the 256–512 token limit of common sentence-transformers models. */
export const DEFAULT_CHUNK_SIZE = 1000;

export interface ReadOptions {
  format: InputFormat;
  /** Split text by size instead of by line (always applies to a folder, with DEFAULT_CHUNK_SIZE when unset). */
  chunkSize?: number;
}

export interface ChunkSource {
  chunks: ChunkInput[];
  /** Files read (1 for a file or stdin). */
  files: number;
  /** Files of a folder left out because they are not text. */
  skipped: string[];
}

/** Reads the chunks of `source`: a JSON-lines or text file, `-` for standard input, or a folder of text files. */
export async function readChunks(source: string, options: ReadOptions): Promise<ChunkSource> {
  if (source === '-') return { chunks: parseContent(await readStdin(), 'stdin', options), files: 1, skipped: [] };
  const info = await stat(source).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${source}: ${error.code === 'ENOENT' ? 'no such file or folder' : error.message}`);
  });
  if (info.isDirectory()) return readFolder(source, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  return { chunks: parseContent(await readFile(source, 'utf8'), source, options), files: 1, skipped: [] };
}

export function parseContent(content: string, source: string, options: ReadOptions): ChunkInput[] {
  const text = content.replace(/^\uFEFF/, '');
  const format = options.format === 'auto' ? detectFormat(source, text) : options.format;
  if (format === 'jsonl') return parseJsonLines(text, source);
  if (options.chunkSize) return splitText(text, options.chunkSize).map((part) => ({ text: checkedText(part, source) }));
  return parsePlainText(text, source);
}

/** `.jsonl`/`.ndjson` are JSON lines, `.txt`/`.md` text; otherwise JSON lines when the first line parses as one. */
export function detectFormat(source: string, content: string): 'jsonl' | 'text' {
  const extension = extname(source).toLowerCase();
  if (extension === '.jsonl' || extension === '.ndjson') return 'jsonl';
  if (extension === '.txt' || extension === '.md' || extension === '.text') return 'text';
  const first =
    content
      .split('\n')
      .find((line) => line.trim() !== '')
      ?.trim() ?? '';
  if (!first.startsWith('{') && !first.startsWith('"')) return 'text';
  try {
    JSON.parse(first);
    return 'jsonl';
  } catch {
    return 'text';
  }
}

/** One chunk per non-empty line: `{"text": ..., "metadata"?: {...}}` or a JSON string. */
export function parseJsonLines(content: string, source: string): ChunkInput[] {
  const chunks: ChunkInput[] = [];
  content.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    chunks.push(parseJsonLine(line, `${source}:${index + 1}`));
  });
  return chunks;
}

function parseJsonLine(line: string, where: string): ChunkInput {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new CliError(`${where}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof value === 'string') return { text: checkedText(value, where) };
  if (!isPlainObject(value))
    throw new CliError(`${where}: expected {"text": ..., "metadata"?: {...}} or a JSON string`);
  const unknown = Object.keys(value).filter((key) => key !== 'text' && key !== 'metadata');
  if (unknown.length > 0) {
    throw new CliError(
      `${where}: unknown field ${unknown.map((key) => `"${key}"`).join(', ')} (allowed: text, metadata)`,
    );
  }
  if (typeof value.text !== 'string') throw new CliError(`${where}: "text" must be a string`);
  if (value.metadata === undefined || value.metadata === null) return { text: checkedText(value.text, where) };
  if (!isPlainObject(value.metadata)) throw new CliError(`${where}: "metadata" must be a JSON object`);
  return { text: checkedText(value.text, where), metadata: value.metadata };
}

/** One chunk per non-empty line, trimmed. */
export function parsePlainText(content: string, source: string): ChunkInput[] {
  const chunks: ChunkInput[] = [];
  content.split('\n').forEach((line, index) => {
    const text = line.trim();
    if (text) chunks.push({ text: checkedText(text, `${source}:${index + 1}`) });
  });
  return chunks;
}

/** Every file under `dir` (dot files and folders left out), in path order, split by size; metadata {file, part}. */
async function readFolder(dir: string, chunkSize: number): Promise<ChunkSource> {
  const source: ChunkSource = { chunks: [], files: 0, skipped: [] };
  for (const path of await listFiles(dir)) {
    const file = relative(dir, path).split(sep).join('/');
    const bytes = await readFile(path);
    // A NUL byte means a binary file; PostgreSQL refuses NUL in text anyway.
    if (bytes.includes(0)) {
      source.skipped.push(file);
      continue;
    }
    source.files++;
    splitText(bytes.toString('utf8').replace(/^\uFEFF/, ''), chunkSize).forEach((text, index) =>
      source.chunks.push({ text, metadata: { file, part: index + 1 } }),
    );
  }
  return source;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((entry) => !entry.name.startsWith('.'));
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

function checkedText(text: string, where: string): string {
  if (text === '') throw new CliError(`${where}: "text" must not be empty`);
  if (text.includes('\u0000')) throw new CliError(`${where}: text must not contain NUL (\\u0000) characters`);
  return text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of process.stdin) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/** A task name from the source: the file or folder name. */
export function defaultTaskName(source: string): string {
  return source === '-' ? 'stdin' : basename(source.replace(/[\\/]+$/, '')) || source;
}
