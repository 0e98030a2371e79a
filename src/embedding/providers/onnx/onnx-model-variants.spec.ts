import { ensureModel } from '../../../../test/fixtures/model/make-model';
import { allEmbedded } from '../embedding-provider';
import { OnnxEmbeddingProvider } from './onnx-embedding-provider';

const TEXTS = [
  'The quick brown fox jumps over the lazy dog.',
  'hello',
  'Search the document database for a vector embedding model that can answer this query quickly.',
  'Café naïve über résumé Ärger',
  Array.from({ length: 40 }, (_, index) => `sentence ${index} about water and mountains`).join(' '),
];

function cosine(a: Float32Array, b: Float32Array): number {
  let [dot, aa, bb] = [0, 0, 0];
  a.forEach((value, index) => {
    dot += value * b[index];
    aa += value * value;
    bb += b[index] * b[index];
  });
  return dot / Math.sqrt(aa * bb);
}

/** One provider serving the same model folder through each of its ONNX files, each chosen per model. */
describe('OnnxEmbeddingProvider with a file per model (fp32, int8, uint8, fp16 of one model)', () => {
  const log: string[] = [];
  let provider: OnnxEmbeddingProvider;

  beforeAll(async () => {
    const path = await ensureModel('tiny');
    provider = new OnnxEmbeddingProvider({
      models: [
        { id: 'fp32', path },
        { id: 'int8', path, modelFile: 'model_quantized.onnx' },
        { id: 'uint8', path, modelFile: 'onnx/model_uint8.onnx' },
        { id: 'fp16', path, modelFile: 'model_fp16.onnx' },
      ],
      intraOpNumThreads: 1,
      logger: { log: (line) => log.push(line), warn: (line) => log.push(line) },
    });
    await provider.init();
  });
  afterAll(() => provider.close());

  it('reports each model’s dtype from its graph, and names the file it loaded', () => {
    expect(provider.models().map(({ id, dtype }) => [id, dtype])).toEqual([
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
  ])('%s embeds every text close to fp32 (cosine > %d), with the same token counts', async (model, least) => {
    const reference = await provider.embed('fp32', TEXTS);
    const variant = await provider.embed(model, TEXTS);
    expect(variant.tokenCounts).toEqual(reference.tokenCounts);
    const [a, b] = [allEmbedded(reference), allEmbedded(variant)];
    a.forEach((vector, index) => expect(cosine(vector, b[index])).toBeGreaterThan(least));
    // Not the same model by accident: quantisation moves the vectors.
    expect(a.some((vector, index) => vector.some((value, i) => value !== b[index][i]))).toBe(true);
  });
});
