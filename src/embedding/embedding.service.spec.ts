import { ensureModel } from '../../test/fixtures/model/make-model';
import { AppConfig } from '../config/app-config';
import { EmbeddingErrorCode, modelNotReady } from './embedding.errors';
import { EmbedCall, EmbeddingService, estimateTokens } from './embedding.service';
import { EmbedInput, EmbeddingModel, EmbedResult, ModelInfo, ModelReadiness } from './providers/embedding-model';
import { OnnxModel } from './providers/onnx/onnx-model';

/** A back end with no optional capability: texts in, one fixed vector out (what a contract test needs). */
class TextsOnly implements EmbeddingModel {
  loaded = false;
  closed = 0;

  constructor(
    readonly id: string,
    private readonly failLoad?: Error,
  ) {}

  async load(): Promise<void> {
    if (this.failLoad) throw this.failLoad;
    this.loaded = true;
  }

  info(): ModelInfo {
    if (!this.loaded) throw modelNotReady(this.id);
    const base = { maxTokens: 8, pooling: 'mean', normalize: true, prompts: {}, defaultPromptName: null } as const;
    return { ...base, id: this.id, dimensions: 1, device: 'remote', dtype: 'unknown' };
  }

  async embed(inputs: EmbedInput[]): Promise<EmbedResult> {
    return { vectors: inputs.map(() => Float32Array.of(1)), refused: new Map(), tokenCounts: null };
  }

  async readiness(): Promise<ModelReadiness> {
    return { id: this.id, loaded: this.loaded, warmedUp: this.loaded };
  }

  async close(): Promise<void> {
    this.closed++;
    this.loaded = false;
  }
}

const config = (models: string[]) =>
  ({
    embedding: { models: models.map((id) => ({ id })), modelsFile: [], maxInputs: 4, maxInputChars: 300 },
  }) as unknown as AppConfig;

const call = <I extends EmbedInput = EmbedInput>(texts: I[], change: Partial<EmbedCall<I>> = {}): EmbedCall<I> => ({
  model: 'tiny',
  texts,
  options: {},
  field: 'input',
  label: (index) => `input[${index}]`,
  ...change,
});

describe('EmbeddingService', () => {
  let tiny: OnnxModel;
  let other: TextsOnly;
  let service: EmbeddingService;

  beforeAll(async () => {
    tiny = new OnnxModel({ id: 'tiny', path: await ensureModel('tiny') });
    other = new TextsOnly('other');
    service = new EmbeddingService([tiny, other], config(['tiny', 'other']));
    await service.load();
  });
  afterAll(() => service.close());

  describe('models', () => {
    it('serves each model under its name, the first configured by default', () => {
      expect(service.servedModels()).toEqual(['tiny', 'other']);
      expect(service.resolveModel().id).toBe('tiny');
      expect(service.model('other')).toBe(other);
      expect(() => service.model('nope')).toThrow('Unknown embedding model "nope"; configured models: tiny, other');
    });

    it('is ready when every model is, and says which is not', async () => {
      expect(await service.readiness()).toEqual({
        ready: true,
        models: [
          { id: 'tiny', loaded: true, warmedUp: true, device: 'cpu' },
          { id: 'other', loaded: true, warmedUp: true },
        ],
      });
      const cold = new EmbeddingService([new TextsOnly('cold')], config(['cold']));
      expect(await cold.readiness()).toMatchObject({ ready: false, models: [{ id: 'cold', warmedUp: false }] });
      expect(() => cold.resolveModel()).toThrow('Embedding model "cold" is not loaded yet');
    });

    it('closes every model when one fails to load, and rejects with its error', async () => {
      const fine = new TextsOnly('fine');
      const broken = new TextsOnly('broken', new Error('no such file'));
      const failing = new EmbeddingService([fine, broken], config(['fine', 'broken']));
      await expect(failing.load()).rejects.toThrow('no such file');
      expect(fine.closed).toBe(1);
    });
  });

  describe('input checks, all here', () => {
    it.each([0, 33, 2.5])('refuses dimensions %p for a 32-dimensional model', async (dimensions) => {
      await expect(service.embed(call(['a text'], { options: { dimensions } }))).rejects.toMatchObject({
        code: EmbeddingErrorCode.InvalidInput,
        field: 'dimensions',
        message: `dimensions must be an integer from 1 to 32 for model "tiny", got ${dimensions}`,
      });
    });

    it('refuses an input that is neither a string nor token ids, naming it in the caller’s terms', async () => {
      await expect(service.embed(call(['fine', { text: 'no' } as unknown as string]))).rejects.toMatchObject({
        field: 'input',
        index: 1,
        message: 'input[1] must be a string or an array of token ids',
      });
      const each = service.embedEach(call(['fine', [1, 2] as unknown as string]), false);
      await expect(each).rejects.toThrow('input[1] must be a string');
    });

    it('applies the request limits: no texts, too many, an empty one, one too long', async () => {
      await expect(service.embed(call([]))).rejects.toMatchObject({ code: EmbeddingErrorCode.EmptyInput });
      await expect(service.embed(call(['a', 'b', 'c', 'd', 'e']))).rejects.toMatchObject({
        code: EmbeddingErrorCode.TooManyInputs,
        message: 'input: at most 4 inputs per request; got 5',
      });
      await expect(service.embed(call(['a', '']))).rejects.toThrow('input[1] must not be empty');
      await expect(service.embed(call(['x'.repeat(301)]))).rejects.toMatchObject({
        code: EmbeddingErrorCode.InputTooLarge,
        limit: { maximum: 300, given: 301 },
      });
    });
  });

  describe("a model's errors in the caller's terms", () => {
    const long = Array.from({ length: 80 }, () => 'a').join(' ');

    it('names a refused text by the caller’s label and position, without rewriting the model’s message', async () => {
      const refused = service.embed(call(['short', long], { options: { truncate: false } }));
      await expect(refused).rejects.toMatchObject({
        code: EmbeddingErrorCode.TooManyTokens,
        field: 'input',
        index: 1,
        message: expect.stringMatching(/^input\[1\] is 82 tokens long, over the 64-token limit of model "tiny"/),
      });
    });

    it('maps a refusal back to the caller’s position when the request limits held texts back', async () => {
      const texts = ['', 'fine', long];
      const label = (index: number) => `chunks[${index}].text`;
      const outcome = await service.embedEach(call(texts, { label, options: { truncate: false } }), true);
      expect(Array.from(outcome.vectors, Boolean)).toEqual([false, true, false]);
      expect(outcome.refused.get(0)?.message).toBe('chunks[0].text must not be empty');
      expect(outcome.refused.get(2)).toMatchObject({ field: 'input', index: 2 });
      expect(outcome.refused.get(2)?.message).toMatch(/^chunks\[2\]\.text is 82 tokens long/);
    });

    it('names options as the caller sent them', async () => {
      const both = call(['a text'], { options: { prompt: 'q: ', promptName: 'query' } });
      await expect(service.embed(both)).rejects.toMatchObject({
        field: 'prompt',
        message: 'Give either prompt or prompt_name, not both',
      });
      const unknown = call(['a text'], { options: { promptName: 'nope' } });
      await expect(service.embed(unknown)).rejects.toMatchObject({ field: 'prompt_name' });
    });
  });

  describe('optional capabilities', () => {
    it('answers UnsupportedOperation for what a model cannot do, and estimates what it cannot count', async () => {
      const unsupported = { code: EmbeddingErrorCode.UnsupportedOperation };
      const onOther = call(['a text'], { model: 'other' });
      await expect(service.embedTokens(onOther)).rejects.toMatchObject({
        ...unsupported,
        message: 'The back end of model "other" does not support token-level vectors',
      });
      await expect(service.tokenize({ ...onOther, options: {} })).rejects.toMatchObject(unsupported);
      await expect(service.decode({ ...onOther, texts: [[1]] }, true)).rejects.toMatchObject(unsupported);
      expect(await service.countTokens('other', ['twelve chars'])).toEqual([estimateTokens('twelve chars')]);
    });

    it('uses the capabilities a model has', async () => {
      const [tokens] = await service.tokenize({ ...call(['hello there']), options: {} });
      expect(tokens[0].text).toBe('[CLS]');
      expect(await service.countTokens('tiny', ['hello there'])).toEqual([tokens.length]);
    });
  });
});
