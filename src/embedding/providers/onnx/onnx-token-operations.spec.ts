import { InferenceSession } from 'onnxruntime-node';
import { EmbeddingErrorCode } from '../../embedding.errors';
import { allEmbedded, EmbeddingProvider } from '../embedding-provider';
import { OnnxEmbeddingProvider } from './onnx-embedding-provider';
import { ensureModel } from '../../../../test/fixtures/model/make-model';
import {
  maxAbsDifference,
  openRawSession,
  rawTokenVectors,
  transformersJsWordPieces,
} from '../../../../test/fixtures/model/reference-embeddings';

const CLS_ID = 2;
const SEP_ID = 3;
const TEXTS = ['The quick brown fox jumps over the lazy dog.', 'hello', 'Café naïve über'];

/** The optional capabilities (token ids, token-level vectors, tokenize, decode), checked against references. */
describe('OnnxEmbeddingProvider token operations', () => {
  let provider: OnnxEmbeddingProvider;
  let rawSession: InferenceSession;
  let wordPieces: (text: string) => number[];
  const idsOf = (text: string) => [CLS_ID, ...wordPieces(text), SEP_ID];

  beforeAll(async () => {
    const modelDir = await ensureModel('tiny');
    provider = new OnnxEmbeddingProvider({
      models: [{ id: 'tiny', path: modelDir }],
      intraOpNumThreads: 1,
      maxBatchSize: 2,
      maxBatchTokens: 200,
    });
    await provider.init();
    rawSession = await openRawSession(modelDir);
    wordPieces = await transformersJsWordPieces(modelDir);
  });

  afterAll(async () => {
    await provider.close();
    await rawSession.release();
  });

  describe('embedInputs', () => {
    it('embeds token ids like the text they encode, mixed with texts, in input order', async () => {
      const texts = allEmbedded(await provider.embed('tiny', TEXTS));
      const mixed = allEmbedded(await provider.embedInputs('tiny', [idsOf(TEXTS[0]), TEXTS[1], idsOf(TEXTS[2])]));
      mixed.forEach((vector, index) => expect(maxAbsDifference(vector, texts[index])).toBeLessThan(1e-6));
    });

    it('uses the ids as given: without special tokens the vector differs', async () => {
      const [bare, full] = allEmbedded(await provider.embedInputs('tiny', [wordPieces('hello'), idsOf('hello')]));
      expect(maxAbsDifference(bare, full)).toBeGreaterThan(1e-3);
    });

    it('puts a prompt in front of ids by decoding them, as TEI does', async () => {
      const [fromIds] = allEmbedded(await provider.embedInputs('tiny', [idsOf('hello')], { promptName: 'query' }));
      const [fromText] = allEmbedded(await provider.embed('tiny', ['hello'], { promptName: 'query' }));
      expect(maxAbsDifference(fromIds, fromText)).toBeLessThan(1e-6);
    });

    it('refuses an id outside the vocabulary, naming the input, before running the model', async () => {
      await expect(provider.embedInputs('tiny', ['a', [CLS_ID, 1024]])).rejects.toMatchObject({
        code: EmbeddingErrorCode.InvalidInput,
        field: 'texts',
        index: 1,
        message: 'texts[1]: token id 1024 is not in the vocabulary of model "tiny" (0 to 1023)',
      });
    });

    it('truncates long id lists to the limit (keeping the first ids) or refuses them when asked', async () => {
      const long = Array.from({ length: 80 }, (_, index) => 100 + index);
      const [cut] = allEmbedded(await provider.embedInputs('tiny', [long]));
      const [first64] = allEmbedded(await provider.embedInputs('tiny', [long.slice(0, 64)]));
      expect(maxAbsDifference(cut, first64)).toBeLessThan(1e-6);
      const refused = await provider.embedInputs('tiny', [long], { truncate: false });
      expect(refused.refused.get(0)?.code).toBe(EmbeddingErrorCode.TooManyTokens);
    });

    it('keeps embed itself for texts only', async () => {
      await expect(provider.embed('tiny', [[1, 2]] as unknown as string[])).rejects.toThrow(
        'texts[0] must be a string',
      );
    });
  });

  describe('embedTokens', () => {
    it("answers each token's hidden state before pooling, as onnxruntime computes it, across batches", async () => {
      const result = await provider.embedTokens('tiny', [...TEXTS, idsOf('hello')]);
      const tokens = allEmbedded(result);
      expect(result.tokenCounts).toEqual([...TEXTS.map((text) => idsOf(text).length), idsOf('hello').length]);
      for (const [index, input] of [...TEXTS, 'hello'].entries()) {
        const expected = await rawTokenVectors(rawSession, idsOf(input));
        expect(tokens[index]).toHaveLength(expected.length);
        tokens[index].forEach((vector, token) => expect(maxAbsDifference(vector, expected[token])).toBeLessThan(1e-5));
      }
    });

    it('is what embed pools: the mean of the token vectors is the unnormalised vector', async () => {
      const [tokens] = allEmbedded(await provider.embedTokens('tiny', [TEXTS[0]]));
      const [pooled] = allEmbedded(await provider.embed('tiny', [TEXTS[0]], { normalize: false }));
      const mean = pooled.map((_, dim) => tokens.reduce((total, vector) => total + vector[dim], 0) / tokens.length);
      expect(maxAbsDifference(mean, pooled)).toBeLessThan(1e-5);
    });
  });

  describe('tokenize and decode', () => {
    it('splits like the reference tokenizer, with UTF-8 byte offsets into the prompted text', async () => {
      const [tokens] = await provider.tokenize('tiny', ['naïve x'], { promptName: 'query' });
      expect(tokens.map((token) => token.id)).toEqual(idsOf('query: naïve x'));
      expect(tokens[0]).toEqual({ id: CLS_ID, text: '[CLS]', special: true, start: null, stop: null });
      const x = tokens[tokens.length - 2];
      expect(x).toEqual({ id: expect.any(Number), text: 'x', special: false, start: 14, stop: 15 });
      expect(Buffer.from('query: naïve x').subarray(x.start!, x.stop!).toString()).toBe('x');
    });

    it('leaves out special tokens when asked', async () => {
      const [tokens] = await provider.tokenize('tiny', ['hello'], { addSpecialTokens: false });
      expect(tokens.map((token) => token.id)).toEqual(wordPieces('hello'));
    });

    it('decodes ids back to text, refusing ids outside the vocabulary', async () => {
      expect(await provider.decode('tiny', [idsOf('hello world'), [CLS_ID]], true)).toEqual(['hello world', '']);
      expect(await provider.decode('tiny', [idsOf('hello')], false)).toEqual(['[CLS] hello [SEP]']);
      await expect(provider.decode('tiny', [[5000]], true)).rejects.toMatchObject({ index: 0, field: 'texts' });
    });
  });
});

describe('EmbeddingProvider defaults for back ends without the optional capabilities', () => {
  class TextsOnly extends EmbeddingProvider {
    init = async () => undefined;
    close = async () => undefined;
    embed = async (_model: string, texts: string[]) => ({
      vectors: texts.map(() => Float32Array.of(1)),
      refused: new Map(),
      tokenCounts: null,
    });
    describe = () => ({}) as never;
    models = () => [];
    readiness = async () => ({ ready: true, models: [] });
  }
  const provider = new TextsOnly();

  it('embeds texts through embed, and refuses token ids and the token operations as unsupported', async () => {
    expect((await provider.embedInputs('m', ['a'])).vectors).toEqual([Float32Array.of(1)]);
    const unsupported = { code: EmbeddingErrorCode.UnsupportedOperation };
    await expect(provider.embedInputs('m', [[1]])).rejects.toMatchObject({
      ...unsupported,
      message: 'The back end of model "m" does not support token ids as input',
    });
    await expect(provider.embedTokens('m', ['a'])).rejects.toMatchObject(unsupported);
    await expect(provider.tokenize('m', ['a'])).rejects.toMatchObject(unsupported);
    await expect(provider.decode('m', [[1]], true)).rejects.toMatchObject(unsupported);
  });
});
