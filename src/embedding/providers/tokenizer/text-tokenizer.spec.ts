import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureModel } from '../../../../test/fixtures/model/make-model';
import { TextTokenizer } from './text-tokenizer';
import { truncateTokens } from './tokenized-text';

const SEP_ID = 3;

describe(TextTokenizer.name, () => {
  let tokenizerPath: string;

  beforeAll(async () => {
    tokenizerPath = join(await ensureModel('tiny'), 'tokenizer.json');
  });

  it('encodes a batch with [CLS] and [SEP] and reports the closing special token', async () => {
    const [hello, empty] = await TextTokenizer.fromFile(tokenizerPath).encode(['hello there', '']);
    expect(hello).toEqual({ ids: [2, 150, 84, 908, 179, 3], typeIds: [0, 0, 0, 0, 0, 0], closingSpecialTokens: 1 });
    expect(empty.ids).toEqual([2, 3]);
  });

  it('ignores truncation and padding saved in tokenizer.json (batching does both)', async () => {
    const json = JSON.parse(await readFile(tokenizerPath, 'utf8'));
    json.truncation = { direction: 'Right', max_length: 4, strategy: 'LongestFirst', stride: 0 };
    json.padding = {
      strategy: { Fixed: 16 },
      direction: 'Right',
      pad_to_multiple_of: null,
      pad_id: 0,
      pad_type_id: 0,
      pad_token: '[PAD]',
    };
    const dir = await mkdtemp(join(tmpdir(), 'tokenizer-'));
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(json));
    const [encoded] = await TextTokenizer.fromFile(join(dir, 'tokenizer.json')).encode(['hello there world']);
    expect(encoded.ids).toHaveLength(7);
    await rm(dir, { recursive: true });
  });

  it('truncates to the limit keeping the closing [SEP]', async () => {
    const [long] = await TextTokenizer.fromFile(tokenizerPath).encode(['one two three four five six']);
    const truncated = truncateTokens(long, 4);
    expect(truncated.ids).toEqual([...long.ids.slice(0, 3), SEP_ID]);
    expect(truncated.typeIds).toHaveLength(4);
    expect(truncateTokens(long, 100)).toBe(long);
  });
});
