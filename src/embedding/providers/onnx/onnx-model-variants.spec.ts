import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { ensureModel, makeModel, writeOnnxVariant } from '../../../../test/fixtures/model/make-model';
import { allEmbedded } from '../embedding-model';
import { OnnxModel, onnxModels } from './onnx-model';
import { cosine } from '../../../common/cosine';

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
