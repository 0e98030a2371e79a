import { InferenceSession } from 'onnxruntime-node';
import { EmbeddingError, EmbeddingErrorCode } from '../../embedding.errors';
import { allEmbedded, EmbedOptions } from '../embedding-model';
import { OnnxModel, onnxModels } from './onnx-model';
import { ensureModel, makeModel, writeOnnxVariant } from '../../../../test/fixtures/model/make-model';
import {
  maxAbsDifference,
  openRawSession,
  rawMeanPooled,
  transformersJsPipeline,
  transformersJsWordPieces,
} from '../../../../test/fixtures/model/reference-embeddings';
import { l2Normalize } from '../vector-math';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cosine } from '../../../common/cosine';

const TOLERANCE = 1e-5;
const CLS_ID = 2;
const SEP_ID = 3;
const MAX_TOKENS = 64;

const SHORT_TEXTS = [
  'The quick brown fox jumps over the lazy dog.',
  'hello',
  'Search the document database for a vector embedding model that can answer this query quickly.',
  '',
  'Hello, world! (Really?) Yes: "quotes", [brackets] & symbols #1 $2 50%... ok-ok_ok',
  'Café naïve über résumé Ärger',
  '日本語 🙂 ∑ zzqx',
];
const LONG_TEXT = Array.from({ length: 40 }, (_, index) => `sentence ${index} about water and mountains`).join(' ');

describe(OnnxModel.name, () => {
  let modelDir: string;
  let provider: OnnxModel;
  let reference: (text: string) => Promise<Float32Array>;
  let wordPieces: (text: string) => number[];
  let rawSession: InferenceSession;

  beforeAll(async () => {
    modelDir = await ensureModel('tiny');
    provider = new OnnxModel(
      { id: 'tiny', path: modelDir },
      { intraOpNumThreads: 1, maxBatchSize: 3, maxBatchTokens: 200 },
    );
    await provider.load();
    reference = await transformersJsPipeline(modelDir);
    wordPieces = await transformersJsWordPieces(modelDir);
    rawSession = await openRawSession(modelDir);
  });

  afterAll(async () => {
    await provider.close();
    await rawSession.release();
  });

  async function embedAll(texts: string[], options?: EmbedOptions): Promise<Float32Array[]> {
    return allEmbedded(await provider.embed(texts, options));
  }

  async function embedOne(text: string, options = {}): Promise<Float32Array> {
    const [vector] = await embedAll([text], options);
    return vector;
  }

  describe('compared with transformers.js on texts that fit', () => {
    it.each(SHORT_TEXTS)('embeds %j alone like transformers.js', async (text) => {
      const vector = await embedOne(text);
      expect(maxAbsDifference(vector, await reference(text))).toBeLessThan(TOLERANCE);
    });

    it('embeds a mixed-length batch, in input order, like each text alone', async () => {
      const vectors = await embedAll(SHORT_TEXTS);
      expect(vectors).toHaveLength(SHORT_TEXTS.length);
      for (const [index, text] of SHORT_TEXTS.entries()) {
        expect(maxAbsDifference(vectors[index], await reference(text))).toBeLessThan(TOLERANCE);
        expect(maxAbsDifference(vectors[index], await embedOne(text))).toBeLessThan(TOLERANCE);
      }
    });

    it('embeds background calls (the sender) like requests, also while both run at once', async () => {
      const [requested, background, alongside] = await Promise.all([
        embedAll(SHORT_TEXTS),
        embedAll(SHORT_TEXTS, { background: true }),
        embedAll([...SHORT_TEXTS].reverse(), { background: true }),
      ]);
      SHORT_TEXTS.forEach((_, index) => {
        expect([...background[index]]).toEqual([...requested[index]]);
        expect(maxAbsDifference(alongside[SHORT_TEXTS.length - 1 - index], requested[index])).toBeLessThan(TOLERANCE);
      });
    });

    it('gives distinct texts distinct vectors (the comparison above is not vacuous)', async () => {
      const [fox, hello] = await embedAll(SHORT_TEXTS.slice(0, 2));
      expect(maxAbsDifference(fox, hello)).toBeGreaterThan(0.05);
    });

    it('strips accents, so accented and plain spellings embed identically', async () => {
      const plain = await embedOne('Cafe naive uber resume Arger');
      expect(maxAbsDifference(await embedOne('Café naïve über résumé Ärger'), plain)).toBeLessThan(TOLERANCE);
    });

    it('maps characters outside the vocabulary to [UNK]', async () => {
      expect(wordPieces('日本 🙂')).toEqual([1, 1, 1]);
      const unknown = await embedOne('日本 🙂');
      expect(maxAbsDifference(unknown, await embedOne('∑ ∑ ∑'))).toBeLessThan(TOLERANCE);
    });
  });

  describe('truncation', () => {
    it('keeps the first word pieces and the closing [SEP], like sentence-transformers', async () => {
      const pieces = wordPieces(LONG_TEXT);
      expect(pieces.length).toBeGreaterThan(MAX_TOKENS);
      const truncatedIds = [CLS_ID, ...pieces.slice(0, MAX_TOKENS - 2), SEP_ID];
      const expected = await rawMeanPooled(rawSession, truncatedIds, true);
      expect(maxAbsDifference(await embedOne(LONG_TEXT), expected)).toBeLessThan(TOLERANCE);
    });

    it('differs from cutting [SEP] off, as transformers.js does (so the check above can fail)', async () => {
      const withoutSep = [CLS_ID, ...wordPieces(LONG_TEXT).slice(0, MAX_TOKENS - 1)];
      const dropped = await rawMeanPooled(rawSession, withoutSep, true);
      expect(maxAbsDifference(await embedOne(LONG_TEXT), dropped)).toBeGreaterThan(1e-3);
    });

    it('truncates long texts inside a batch without changing their neighbours', async () => {
      const [short, long] = await embedAll([SHORT_TEXTS[0], LONG_TEXT]);
      expect(maxAbsDifference(short, await reference(SHORT_TEXTS[0]))).toBeLessThan(TOLERANCE);
      expect(maxAbsDifference(long, await embedOne(LONG_TEXT))).toBeLessThan(TOLERANCE);
    });

    it('refuses an over-long text when truncate is false, naming its index, length and the limit', async () => {
      const length = wordPieces(LONG_TEXT).length + 2;
      const { vectors, refused } = await provider.embed(['short', LONG_TEXT], { truncate: false });
      expect([...refused.keys()]).toEqual([1]);
      expect(refused.get(1)).toMatchObject({
        code: EmbeddingErrorCode.TooManyTokens,
        message: `texts[1] is ${length} tokens long, over the 64-token limit of model "tiny" (set truncate to true to cut it)`,
        field: 'texts',
        index: 1,
        limit: { maximum: MAX_TOKENS, given: length },
      });
      expect(vectors[1]).toBeUndefined();
      expect(maxAbsDifference(vectors[0]!, await embedOne('short'))).toBeLessThan(TOLERANCE);
    });

    it('fails a call that needs every text with the first refusal', async () => {
      await expect(embedAll([LONG_TEXT, 'short', LONG_TEXT], { truncate: false })).rejects.toMatchObject({
        code: EmbeddingErrorCode.TooManyTokens,
        index: 0,
      });
    });

    it('accepts a text of exactly the limit when truncate is false', async () => {
      const exact = await embedAll([textOfWordPieces(MAX_TOKENS - 2)], { truncate: false });
      expect(exact).toHaveLength(1);
    });
  });

  describe('options', () => {
    const text = SHORT_TEXTS[0];

    it('prefixes the named prompt from config_sentence_transformers.json', async () => {
      const named = await embedOne(text, { promptName: 'query' });
      expect(maxAbsDifference(named, await reference(`query: ${text}`))).toBeLessThan(TOLERANCE);
      expect(maxAbsDifference(named, await embedOne(text))).toBeGreaterThan(1e-3);
    });

    it('uses an explicit empty prompt as no prompt at all', async () => {
      expect(maxAbsDifference(await embedOne(text, { prompt: '' }), await reference(text))).toBeLessThan(TOLERANCE);
    });

    it('rejects an unknown prompt name, and prompt together with promptName', async () => {
      await expect(embedOne(text, { promptName: 'passage' })).rejects.toMatchObject({
        code: EmbeddingErrorCode.InvalidInput,
        field: 'promptName',
        message: 'Model "tiny" has no prompt named "passage"; known: query, document',
      });
      await expect(embedOne(text, { prompt: 'a: ', promptName: 'query' })).rejects.toMatchObject({
        code: EmbeddingErrorCode.InvalidInput,
        field: 'prompt',
      });
    });

    it('returns the raw mean when normalize is false', async () => {
      const raw = await embedOne(text, { normalize: false });
      const ids = [CLS_ID, ...wordPieces(text), SEP_ID];
      expect(maxAbsDifference(raw, await rawMeanPooled(rawSession, ids, false))).toBeLessThan(TOLERANCE);
      expect(Math.abs(Math.hypot(...raw) - 1)).toBeGreaterThan(0.01);
    });

    it('cuts to the requested dimensions and renormalises', async () => {
      const raw = await embedOne(text, { normalize: false });
      const cut = await embedOne(text, { dimensions: 8 });
      expect(cut).toHaveLength(8);
      expect(Math.hypot(...cut)).toBeCloseTo(1, 5);
      expect(maxAbsDifference(cut, l2Normalize(raw.slice(0, 8)))).toBeLessThan(TOLERANCE);
    });
  });

  describe('models and readiness', () => {
    it('describes the model from its files', async () => {
      expect(provider.info()).toEqual({
        id: 'tiny',
        dimensions: 32,
        maxTokens: 64,
        pooling: 'mean',
        normalize: true,
        prompts: { query: 'query: ', document: 'document: ' },
        defaultPromptName: null,
        device: 'cpu',
        dtype: 'float32',
      });
      expect(provider.id).toBe('tiny');
      expect(await provider.readiness()).toEqual({ id: 'tiny', loaded: true, warmedUp: true, device: 'cpu' });
    });

    it('is not ready, and refuses work, before init', async () => {
      const fresh = new OnnxModel({ id: 'tiny', path: modelDir });
      expect(await fresh.readiness()).toEqual({ id: 'tiny', loaded: false, warmedUp: false });
      await expect(fresh.embed(['x'])).rejects.toMatchObject({ code: EmbeddingErrorCode.ModelNotReady });
      expect(() => fresh.info()).toThrow(EmbeddingError);
      expect(() => fresh.info()).toThrow('Embedding model "tiny" is not loaded yet');
    });

    it('counts the tokens each text became, prompt and special tokens included, after truncation', async () => {
      const texts = ['hello', LONG_TEXT];
      const { vectors, tokenCounts } = await provider.embed(texts, { promptName: 'query' });
      expect(tokenCounts).toEqual([wordPieces('query: hello').length + 2, MAX_TOKENS]);
      expect(maxAbsDifference(vectors[0]!, await embedOne('hello', { promptName: 'query' }))).toBeLessThan(TOLERANCE);
    });

    it('returns no vectors for no texts', async () => {
      await expect(provider.embed([])).resolves.toEqual({ vectors: [], refused: new Map(), tokenCounts: [] });
    });
  });

  /** A text that tokenises to exactly `count` word pieces: single-letter words are one piece each. */
  function textOfWordPieces(count: number): string {
    const text = Array.from({ length: count }, () => 'a').join(' ');
    expect(wordPieces(text)).toHaveLength(count);
    return text;
  }
});

const TEXTS = [
  'The quick brown fox jumps over the lazy dog.',
  'hello',
  'Search the document database for a vector embedding model that can answer this query quickly.',
  'Café naïve über résumé Ärger',
  Array.from({ length: 40 }, (_, index) => `sentence ${index} about water and mountains`).join(' '),
];

/** The same model folder served through each of its ONNX files, each chosen per model. */
describe('OnnxModel with a file per model (fp32, int8, uint8, fp16 of one model)', () => {
  const log: string[] = [];
  let models: OnnxModel[];
  const model = (id: string) => models.find((served) => served.id === id)!;

  beforeAll(async () => {
    const path = await ensureModel('tiny');
    const sources = [
      { id: 'fp32', path },
      { id: 'int8', path, modelFile: 'model_quantized.onnx' },
      { id: 'uint8', path, modelFile: 'onnx/model_uint8.onnx' },
      { id: 'fp16', path, modelFile: 'model_fp16.onnx' },
    ];
    models = onnxModels(sources, {
      intraOpNumThreads: 1,
      logger: { log: (line) => log.push(line), warn: (line) => log.push(line) },
    });
    await Promise.all(models.map((served) => served.load()));
  });
  afterAll(() => Promise.all(models.map((served) => served.close())));

  it('reports each model’s dtype from its graph, and names the file it loaded', () => {
    expect(models.map((served) => [served.id, served.info().dtype])).toEqual([
      ['fp32', 'float32'],
      ['int8', 'int8'],
      ['uint8', 'uint8'],
      ['fp16', 'float16'],
    ]);
    expect(log).toContain('Embedding model "int8" ready: 32 dimensions, 64 tokens, cpu, int8 (model_quantized.onnx)');
  });

  it.each([
    ['int8', 0.999],
    ['uint8', 0.999],
    ['fp16', 0.99999],
  ])('%s embeds every text close to fp32 (cosine > %d), with the same token counts', async (id, least) => {
    const reference = await model('fp32').embed(TEXTS);
    const variant = await model(id).embed(TEXTS);
    expect(variant.tokenCounts).toEqual(reference.tokenCounts);
    const [a, b] = [allEmbedded(reference), allEmbedded(variant)];
    a.forEach((vector, index) => expect(cosine(vector, b[index])).toBeGreaterThan(least));
    // Not the same model by accident: quantisation moves the vectors.
    expect(a.some((vector, index) => vector.some((value, i) => value !== b[index][i]))).toBe(true);
  });
});

describe('OnnxModel with a float16 graph whose output is float16 too (no keep_io_types)', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await makeModel('tiny', join(await mkdtemp(join(tmpdir(), 'fp16-io-')), 'tiny'));
    await writeOnnxVariant('tiny', dir, 'onnx/model_fp16_io.onnx', { dtype: 'float16', keepIoTypes: false });
  });
  afterAll(() => rm(join(dir, '..'), { recursive: true, force: true }));

  it('widens the float16 hidden states and embeds like fp32', async () => {
    const session = await InferenceSession.create(join(dir, 'onnx/model_fp16_io.onnx'));
    expect(session.outputMetadata).toEqual([expect.objectContaining({ name: 'last_hidden_state', type: 'float16' })]);
    await session.release();
    const [fp32, fp16] = onnxModels(
      [
        { id: 'fp32', path: dir },
        { id: 'fp16', path: dir, modelFile: 'model_fp16_io.onnx' },
      ],
      { intraOpNumThreads: 1 },
    );
    await Promise.all([fp32.load(), fp16.load()]);
    try {
      expect(fp16.info().dtype).toBe('float16');
      const [a, b] = [allEmbedded(await fp32.embed(TEXTS)), allEmbedded(await fp16.embed(TEXTS))];
      a.forEach((vector, index) => expect(cosine(vector, b[index])).toBeGreaterThan(0.9999));
      const tokens = await fp16.embedTokens(['hello there']);
      expect(tokens.vectors[0]!.every((token) => token instanceof Float32Array && token.every(Number.isFinite))).toBe(
        true,
      );
    } finally {
      await Promise.all([fp32.close(), fp16.close()]);
    }
  });
});
