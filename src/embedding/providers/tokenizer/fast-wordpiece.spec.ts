import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FastWordPiece, TokenizerJson } from './fast-wordpiece';
import { writeTokenizerJson } from '../../../../test/fixtures/model/make-model';
import { SeededRandom } from '../../../../test/fixtures/model/seeded-random';
import { TextTokenizer } from './text-tokenizer';

/** Every character the fast path claims, each in a few surroundings. */
function everySupportedCharacter(): string[] {
  const codes = [...range(0x0000, 0x024f), ...range(0x2000, 0x206f)].filter((code) => code !== 0x2065);
  return codes.flatMap((code) => {
    const char = String.fromCharCode(code);
    return [char, `a${char}b`, `Word${char}${char}x y`, `${char}the end${char}`, `12${char}ing`];
  });
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, index) => first + index);
}

/** Seeded texts mixing common words, accented and odd characters, long words and punctuation runs. */
function mixedTexts(count: number): string[] {
  const random = new SeededRandom(99);
  const pieces = ['the', 'Water', 'running', 'zqxj', 'Café', 'naïve', 'ÉCOLE', '—', '“quoted”', '...', 'a\tb', 'x\ny'];
  const pick = () => pieces[Math.floor(random.next() * pieces.length)];
  const odd = () => String.fromCharCode(Math.floor(random.next() * 0x250));
  return Array.from({ length: count }, (_, index) => {
    const words = Array.from({ length: 1 + Math.floor(random.next() * 40) }, () =>
      random.next() < 0.2 ? odd() : pick(),
    );
    if (index % 17 === 0) {
      words.push('x'.repeat(95 + (index % 10)), 'ab'.repeat(60));
    }
    return words.join(random.next() < 0.5 ? ' ' : '');
  });
}

const CAFE_TOKEN = {
  id: 30000,
  content: 'Café',
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: true,
  special: false,
};

describe(FastWordPiece.name, () => {
  let dir: string;
  let baseJson: Record<string, unknown>;
  const files = new Map<string, string>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fast-wordpiece-'));
    for (const size of ['tiny', 'minilm'] as const) {
      files.set(size, await writeTokenizerJson(size, join(dir, `${size}-tokenizer.json`)));
    }
    baseJson = JSON.parse(await readFile(files.get('minilm')!, 'utf8'));
  });

  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function variant(name: string, change: (json: Record<string, unknown>) => void): Promise<string> {
    const json = structuredClone(baseJson);
    change(json);
    const path = join(dir, `${name}.json`);
    await writeFile(path, JSON.stringify(json));
    return path;
  }

  async function expectSameAsNative(path: string, texts: string[]): Promise<void> {
    const fast = FastWordPiece.fromJson(JSON.parse(await readFile(path, 'utf8')) as TokenizerJson)!;
    const covered = texts.filter((text) => fast.supports(text));
    const native = await TextTokenizer.fromFile(path, { fastPath: false }).encode(covered);
    const mismatches = covered.filter((text, index) => !isEqual(fast.encode(text), native[index]));
    expect(mismatches.slice(0, 5).map((text) => [...text].map((char) => char.charCodeAt(0).toString(16)))).toEqual([]);
    expect(covered.length).toBeGreaterThan(texts.length * 0.9);
  }

  function isEqual(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
  }

  it.each(['tiny', 'minilm'])('matches the native tokenizer on every supported character (%s)', async (size) => {
    await expectSameAsNative(files.get(size)!, everySupportedCharacter());
  });

  it.each(['tiny', 'minilm'])('matches the native tokenizer on mixed texts and long words (%s)', async (size) => {
    await expectSameAsNative(files.get(size)!, mixedTexts(2000));
  });

  it.each([
    ['cased', (json: Record<string, unknown>) => Object.assign(json.normalizer as object, { lowercase: false })],
    [
      'no clean_text',
      (json: Record<string, unknown>) => Object.assign(json.normalizer as object, { clean_text: false }),
    ],
    [
      'accents kept',
      (json: Record<string, unknown>) => Object.assign(json.normalizer as object, { strip_accents: false }),
    ],
    [
      'strip_accents null',
      (json: Record<string, unknown>) => Object.assign(json.normalizer as object, { strip_accents: null }),
    ],
    ['no normalizer', (json: Record<string, unknown>) => (json.normalizer = null)],
    ['no post-processor', (json: Record<string, unknown>) => (json.post_processor = null)],
    [
      'BertProcessing',
      (json: Record<string, unknown>) =>
        (json.post_processor = { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] }),
    ],
    [
      'short words only',
      (json: Record<string, unknown>) => Object.assign(json.model as object, { max_input_chars_per_word: 5 }),
    ],
  ])('matches the native tokenizer with %s', async (name, change) => {
    await expectSameAsNative(await variant(name, change), [...everySupportedCharacter(), ...mixedTexts(300)]);
  });

  it('leaves other characters and added tokens to the native tokenizer', async () => {
    const fast = FastWordPiece.fromJson(baseJson as TokenizerJson)!;
    expect(fast.supports('plain text, déjà vu — “ok”')).toBe(true);
    for (const text of ['日本語', 'emoji 🙂', 'e\u0301', 'Ωmega', 'see [SEP] here']) {
      expect(fast.supports(text)).toBe(false);
    }
  });

  it('leaves texts holding a `normalized` added token, after normalising, to the native tokenizer', async () => {
    const path = await variant('normalized added token', (json) => (json.added_tokens as unknown[]).push(CAFE_TOKEN));
    const fast = FastWordPiece.fromJson(JSON.parse(await readFile(path, 'utf8')) as TokenizerJson)!;
    expect(fast.supports('a CAFÉ b')).toBe(false);
    expect(fast.supports('a cab')).toBe(true);
    await expectSameAsNative(path, [...everySupportedCharacter(), ...mixedTexts(300)]);
  });

  it('declines tokenizers it does not reproduce', () => {
    const other = (change: Record<string, unknown>) =>
      FastWordPiece.fromJson({ ...baseJson, ...change } as TokenizerJson);
    expect(other({ normalizer: { type: 'Sequence', normalizers: [] } })).toBeUndefined();
    expect(other({ pre_tokenizer: { type: 'Whitespace' } })).toBeUndefined();
    expect(other({ model: { type: 'BPE', vocab: {}, merges: [] } })).toBeUndefined();
    expect(other({ post_processor: { type: 'RobertaProcessing' } })).toBeUndefined();
  });

  it('gives TextTokenizer the same results as the native tokenizer, mixing both paths in one call', async () => {
    // [MASK] is matched case-sensitively (normalized: false), so '[mask]' is plain text the fast path takes.
    const texts = [
      'Hello, World!',
      '日本語 mixed in',
      '',
      'déjà vu',
      'see [SEP] here',
      'x [mask] y',
      ...mixedTexts(50),
    ];
    const path = files.get('tiny')!;
    const withFastPath = await TextTokenizer.fromFile(path).encode(texts);
    expect(withFastPath).toEqual(await TextTokenizer.fromFile(path, { fastPath: false }).encode(texts));
  });
});
