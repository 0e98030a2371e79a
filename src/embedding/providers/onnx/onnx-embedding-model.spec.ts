import { EmbeddingStageStats } from '../../../metrics/metrics.service';
import { OnnxModel } from './onnx-model';
import { ensureModel } from '../../../../test/fixtures/model/make-model';
import { InferenceSession } from 'onnxruntime-node';
import { EmbeddingErrorCode } from '../../embedding.errors';
import { allEmbedded } from '../embedding-model';
import {
  maxAbsDifference,
  openRawSession,
  rawTokenVectors,
  transformersJsWordPieces,
} from '../../../../test/fixtures/model/reference-embeddings';

describe('OnnxEmbeddingModel stage reports (the provider’s onStage metrics hook)', () => {
  const stats: EmbeddingStageStats[] = [];
  let provider: OnnxModel;

  beforeAll(async () => {
    const path = await ensureModel('tiny');
    provider = new OnnxModel(
      { id: 'tiny', path },
      { intraOpNumThreads: 1, maxBatchSize: 2, onStage: (step) => stats.push(step) },
    );
    await provider.load();
  });
  afterAll(() => provider.close());

  it('does not report the warm-up', () => {
    expect(stats).toEqual([]);
  });

  it('reports one tokenisation per call and each inference batch with its padded tokens', async () => {
    const texts = ['one', 'two words', 'three words here', 'a much longer text with many more words in it', 'five'];
    const { tokenCounts } = await provider.embed(texts);
    const [tokenize, ...batches] = stats;
    expect(tokenize).toEqual({ stage: 'tokenize', model: 'tiny', texts: 5, seconds: expect.any(Number) });
    expect(batches.length).toBeGreaterThanOrEqual(3);
    expect(batches.every((batch) => batch.stage === 'inference' && batch.model === 'tiny' && batch.seconds >= 0)).toBe(
      true,
    );
    expect(batches.reduce((sum, batch) => sum + batch.texts, 0)).toBe(5);
    // Batches are planned longest first: the first holds the longest text, padded to its length.
    const longest = Math.max(...tokenCounts!);
    expect(batches[0]).toMatchObject({ paddedTokens: batches[0].texts * longest });
  });
});

const CLS_ID = 2;
const SEP_ID = 3;
const TEXTS = ['The quick brown fox jumps over the lazy dog.', 'hello', 'Café naïve über'];

/** The optional capabilities (token ids, token-level vectors, tokenize, decode), checked against references. */
describe('OnnxModel token operations', () => {
  let provider: OnnxModel;
  let rawSession: InferenceSession;
  let wordPieces: (text: string) => number[];
  const idsOf = (text: string) => [CLS_ID, ...wordPieces(text), SEP_ID];

  beforeAll(async () => {
    const modelDir = await ensureModel('tiny');
    provider = new OnnxModel(
      { id: 'tiny', path: modelDir },
      { intraOpNumThreads: 1, maxBatchSize: 2, maxBatchTokens: 200 },
    );
    await provider.load();
    rawSession = await openRawSession(modelDir);
    wordPieces = await transformersJsWordPieces(modelDir);
  });

  afterAll(async () => {
    await provider.close();
    await rawSession.release();
  });

  describe('embed with token ids', () => {
    it('embeds token ids like the text they encode, mixed with texts, in input order', async () => {
      const texts = allEmbedded(await provider.embed(TEXTS));
      const mixed = allEmbedded(await provider.embed([idsOf(TEXTS[0]), TEXTS[1], idsOf(TEXTS[2])]));
      mixed.forEach((vector, index) => expect(maxAbsDifference(vector, texts[index])).toBeLessThan(1e-6));
    });

    it('uses the ids as given: without special tokens the vector differs', async () => {
      const [bare, full] = allEmbedded(await provider.embed([wordPieces('hello'), idsOf('hello')]));
      expect(maxAbsDifference(bare, full)).toBeGreaterThan(1e-3);
    });

    it('puts a prompt in front of ids by decoding them, as TEI does', async () => {
      const [fromIds] = allEmbedded(await provider.embed([idsOf('hello')], { promptName: 'query' }));
      const [fromText] = allEmbedded(await provider.embed(['hello'], { promptName: 'query' }));
      expect(maxAbsDifference(fromIds, fromText)).toBeLessThan(1e-6);
    });

    it('refuses an id outside the vocabulary, naming the input, before running the model', async () => {
      await expect(provider.embed(['a', [CLS_ID, 1024]])).rejects.toMatchObject({
        code: EmbeddingErrorCode.InvalidInput,
        field: 'texts',
        index: 1,
        message: 'texts[1]: token id 1024 is not in the vocabulary of model "tiny" (0 to 1023)',
      });
    });

    it('truncates long id lists to the limit (keeping the first ids) or refuses them when asked', async () => {
      const long = Array.from({ length: 80 }, (_, index) => 100 + index);
      const [cut] = allEmbedded(await provider.embed([long]));
      const [first64] = allEmbedded(await provider.embed([long.slice(0, 64)]));
      expect(maxAbsDifference(cut, first64)).toBeLessThan(1e-6);
      const refused = await provider.embed([long], { truncate: false });
      expect(refused.refused.get(0)?.code).toBe(EmbeddingErrorCode.TooManyTokens);
    });
  });

  describe('embedTokens', () => {
    it("answers each token's hidden state before pooling, as onnxruntime computes it, across batches", async () => {
      const result = await provider.embedTokens([...TEXTS, idsOf('hello')]);
      const tokens = allEmbedded(result);
      expect(result.tokenCounts).toEqual([...TEXTS.map((text) => idsOf(text).length), idsOf('hello').length]);
      for (const [index, input] of [...TEXTS, 'hello'].entries()) {
        const expected = await rawTokenVectors(rawSession, idsOf(input));
        expect(tokens[index]).toHaveLength(expected.length);
        tokens[index].forEach((vector, token) => expect(maxAbsDifference(vector, expected[token])).toBeLessThan(1e-5));
      }
    });

    it('is what embed pools: the mean of the token vectors is the unnormalised vector', async () => {
      const [tokens] = allEmbedded(await provider.embedTokens([TEXTS[0]]));
      const [pooled] = allEmbedded(await provider.embed([TEXTS[0]], { normalize: false }));
      const mean = pooled.map((_, dim) => tokens.reduce((total, vector) => total + vector[dim], 0) / tokens.length);
      expect(maxAbsDifference(mean, pooled)).toBeLessThan(1e-5);
    });
  });

  describe('tokenize and decode', () => {
    it('splits like the reference tokenizer, with UTF-8 byte offsets into the prompted text', async () => {
      const [tokens] = await provider.tokenize(['naïve x'], { promptName: 'query' });
      expect(tokens.map((token) => token.id)).toEqual(idsOf('query: naïve x'));
      expect(tokens[0]).toEqual({ id: CLS_ID, text: '[CLS]', special: true, start: null, stop: null });
      const x = tokens[tokens.length - 2];
      expect(x).toEqual({ id: expect.any(Number), text: 'x', special: false, start: 14, stop: 15 });
      expect(Buffer.from('query: naïve x').subarray(x.start!, x.stop!).toString()).toBe('x');
    });

    it('leaves out special tokens when asked', async () => {
      const [tokens] = await provider.tokenize(['hello'], { addSpecialTokens: false });
      expect(tokens.map((token) => token.id)).toEqual(wordPieces('hello'));
    });

    it('decodes ids back to text, refusing ids outside the vocabulary', async () => {
      expect(await provider.decode([idsOf('hello world'), [CLS_ID]], true)).toEqual(['hello world', '']);
      expect(await provider.decode([idsOf('hello')], false)).toEqual(['[CLS] hello [SEP]']);
      await expect(provider.decode([[5000]], true)).rejects.toMatchObject({ index: 0, field: 'texts' });
    });
  });
});
