import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { Tokenizer } from 'tokenizers';
import { ensureModel, makeModel } from './make-model';

const EXPECTED_FILES = [
  '.model-complete.json',
  '1_Pooling/config.json',
  'config.json',
  'config_sentence_transformers.json',
  'modules.json',
  'onnx/model.onnx',
  'sentence_bert_config.json',
  'special_tokens_map.json',
  'tokenizer.json',
  'tokenizer_config.json',
];

describe('makeModel', () => {
  let workDir: string;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'make-model-'));
  });

  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('writes the Hugging Face hub layout, and nothing else, into the target folder', async () => {
    const dir = await makeModel('tiny', join(workDir, 'layout'));
    expect(await listFiles(dir)).toEqual(EXPECTED_FILES);
    expect((await readdir(workDir)).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  it('is deterministic: the same size gives byte-identical files', async () => {
    const first = await makeModel('tiny', join(workDir, 'first'));
    const second = await makeModel('tiny', join(workDir, 'second'));
    for (const file of EXPECTED_FILES) {
      expect((await readFile(join(first, file))).equals(await readFile(join(second, file)))).toBe(true);
    }
  });

  it('stays small enough to generate per test run', async () => {
    const { size } = await stat(join(await ensureModel('tiny', join(workDir, 'small')), 'onnx/model.onnx'));
    expect(size).toBeLessThan(400_000);
  });

  it('writes a graph onnxruntime loads, with BERT inputs and a [batch, seq, 32] output', async () => {
    const session = await InferenceSession.create(
      join(await ensureModel('tiny', join(workDir, 'ort')), 'onnx/model.onnx'),
    );
    expect(session.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    expect(session.outputNames).toEqual(['last_hidden_state']);
    const ids = (values: number[]) => new Tensor('int64', BigInt64Array.from(values.map(BigInt)), [2, 3]);
    const feeds = {
      input_ids: ids([2, 7, 3, 2, 8, 3]),
      attention_mask: ids([1, 1, 1, 1, 1, 0]),
      token_type_ids: ids([0, 0, 0, 0, 0, 0]),
    };
    const output = (await session.run(feeds)).last_hidden_state;
    expect(output.dims).toEqual([2, 3, 32]);
    expect((output.data as Float32Array).every(Number.isFinite)).toBe(true);
    await session.release();
  });

  it('writes a WordPiece tokenizer with BERT special tokens and a realistic vocabulary', async () => {
    const dir = await ensureModel('tiny', join(workDir, 'tokenizer'));
    const tokenizer = Tokenizer.fromFile(join(dir, 'tokenizer.json'));
    expect(tokenizer.getVocabSize()).toBe(1024);
    expect(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((token) => tokenizer.tokenToId(token))).toEqual([
      0, 1, 2, 3, 4,
    ]);
    const encoding = await tokenizer.encode('The Café served WATER, quickly!');
    expect(encoding.getTokens()).toEqual([
      ...['[CLS]', 'the', 'ca', '##fe', 'serve', '##d', 'water', ',', 'quick', '##ly', '!', '[SEP]'],
    ]);
  });

  describe('ensureModel', () => {
    it('reuses a complete model instead of regenerating it', async () => {
      const dir = await ensureModel('tiny', join(workDir, 'reuse'));
      const before = await stat(join(dir, 'onnx/model.onnx'));
      await ensureModel('tiny', dir);
      expect((await stat(join(dir, 'onnx/model.onnx'))).mtimeMs).toBe(before.mtimeMs);
    });

    it('regenerates a folder whose completion marker is missing', async () => {
      const dir = await makeModel('tiny', join(workDir, 'incomplete'));
      await rm(join(dir, '.model-complete.json'));
      await rm(join(dir, 'tokenizer.json'));
      await ensureModel('tiny', dir);
      expect(await listFiles(dir)).toEqual(EXPECTED_FILES);
    });

    it('survives concurrent callers racing for the same folder', async () => {
      const dir = join(workDir, 'race');
      await Promise.all(Array.from({ length: 4 }, () => ensureModel('tiny', dir)));
      expect(await listFiles(dir)).toEqual(EXPECTED_FILES);
      expect((await readdir(workDir)).filter((name) => name.startsWith('race.'))).toEqual([]);
    });
  });
});

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}
