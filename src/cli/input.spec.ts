import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from './errors';
import { defaultTaskName, detectFormat, parseContent, parseJsonLines, parsePlainText, readChunks } from './input';

describe('parseJsonLines', () => {
  it('reads objects with text and metadata, and bare strings; skips blank lines', () => {
    const content = '{"text": "one", "metadata": {"page": 1}}\n\n"two"\r\n{"text": "three", "metadata": null}\n';
    expect(parseJsonLines(content, 'f.jsonl')).toEqual([
      { text: 'one', metadata: { page: 1 } },
      { text: 'two' },
      { text: 'three' },
    ]);
  });

  it.each([
    ['{"text": "a"}\n{oops}', 'f.jsonl:2: not valid JSON'],
    ['42', 'f.jsonl:1: expected {"text": ..., "metadata"?: {...}} or a JSON string'],
    ['["a"]', 'f.jsonl:1: expected'],
    ['{"txt": "a"}', 'f.jsonl:1: unknown field "txt" (allowed: text, metadata)'],
    ['{"metadata": {}}', 'f.jsonl:1: "text" must be a string'],
    ['{"text": 5}', 'f.jsonl:1: "text" must be a string'],
    ['{"text": ""}', 'f.jsonl:1: "text" must not be empty'],
    ['""', 'f.jsonl:1: "text" must not be empty'],
    ['{"text": "a\\u0000b"}', 'f.jsonl:1: text must not contain NUL'],
    ['{"text": "a", "metadata": [1]}', 'f.jsonl:1: "metadata" must be a JSON object'],
    ['{"text": "a", "metadata": "x"}', 'f.jsonl:1: "metadata" must be a JSON object'],
  ])('refuses %s, naming the line', (content, message) => {
    expect(() => parseJsonLines(content, 'f.jsonl')).toThrow(CliError);
    expect(() => parseJsonLines(content, 'f.jsonl')).toThrow(message);
  });
});

describe('parsePlainText', () => {
  it('makes one trimmed chunk per non-empty line', () => {
    expect(parsePlainText('  first line \r\n\n   \nsecond\n', 'f.txt')).toEqual([
      { text: 'first line' },
      { text: 'second' },
    ]);
  });
});

describe('detectFormat and parseContent', () => {
  it('goes by the extension, else by whether the first line is JSON', () => {
    expect(detectFormat('a.jsonl', 'plain words')).toBe('jsonl');
    expect(detectFormat('a.ndjson', '')).toBe('jsonl');
    expect(detectFormat('a.txt', '{"text": "x"}')).toBe('text');
    expect(detectFormat('data', '\n{"text": "x"}\n')).toBe('jsonl');
    expect(detectFormat('data', '"a quoted line"')).toBe('jsonl');
    expect(detectFormat('data', '"Hello," she said.')).toBe('text');
    expect(detectFormat('data', '{not json')).toBe('text');
  });

  it('honours a forced format, strips a BOM, and splits text by size when asked', () => {
    expect(parseContent('\uFEFF{"text": "x"}', 'a.txt', { format: 'jsonl' })).toEqual([{ text: 'x' }]);
    expect(parseContent('\uFEFFone\ntwo', 'in', { format: 'auto' })).toEqual([{ text: 'one' }, { text: 'two' }]);
    expect(parseContent('aaaa bbbb cccc', 'a.txt', { format: 'text', chunkSize: 9 })).toEqual([
      { text: 'aaaa bbbb' },
      { text: 'cccc' },
    ]);
  });
});

describe('readChunks', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-input-'));
    await mkdir(join(dir, 'docs', 'sub'), { recursive: true });
    await mkdir(join(dir, 'docs', '.git'));
    await writeFile(join(dir, 'docs', 'b.md'), 'Beta one. Beta two.\n\nBeta three is longer than the others.');
    await writeFile(join(dir, 'docs', 'a.txt'), 'Alpha.');
    await writeFile(join(dir, 'docs', 'sub', 'c.txt'), 'Gamma.');
    await writeFile(join(dir, 'docs', '.hidden'), 'never read');
    await writeFile(join(dir, 'docs', '.git', 'HEAD'), 'never read');
    await writeFile(join(dir, 'docs', 'image.bin'), Buffer.from([0x89, 0x50, 0x00, 0x01]));
    await writeFile(join(dir, 'lines.txt'), 'one\ntwo\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('splits every text file of a folder by size, in path order, with {file, part}', async () => {
    const source = await readChunks(join(dir, 'docs'), { format: 'auto', chunkSize: 40 });
    expect(source).toEqual({
      files: 3,
      skipped: ['image.bin'],
      chunks: [
        { text: 'Alpha.', metadata: { file: 'a.txt', part: 1 } },
        { text: 'Beta one. Beta two.', metadata: { file: 'b.md', part: 1 } },
        { text: 'Beta three is longer than the others.', metadata: { file: 'b.md', part: 2 } },
        { text: 'Gamma.', metadata: { file: 'sub/c.txt', part: 1 } },
      ],
    });
  });

  it('reads a single file, and says clearly when the path does not exist', async () => {
    expect((await readChunks(join(dir, 'lines.txt'), { format: 'auto' })).chunks).toEqual([
      { text: 'one' },
      { text: 'two' },
    ]);
    await expect(readChunks(join(dir, 'missing.jsonl'), { format: 'auto' })).rejects.toThrow('no such file or folder');
  });

  it('names a task after the file or folder', () => {
    expect(defaultTaskName('/data/handbook.jsonl')).toBe('handbook.jsonl');
    expect(defaultTaskName('docs/')).toBe('docs');
    expect(defaultTaskName('-')).toBe('stdin');
  });
});
