import { EmbeddingErrorCode } from '../../../embedding.errors';
import { OnnxModel } from '../onnx-model';
import { EmbeddingModelSource, onnxFileCandidates, validateModelSources } from './model-source';

describe(validateModelSources.name, () => {
  it('accepts local and hub models', () => {
    const sources = [
      { id: 'local', path: './models/tiny' },
      {
        id: 'hub',
        hubId: 'sentence-transformers/all-MiniLM-L6-v2',
        revision: 'abc123',
        modelFile: 'model_quantized.onnx',
      },
    ];
    expect(() => validateModelSources(sources)).not.toThrow();
  });

  it.each<[string, EmbeddingModelSource[], string]>([
    ['a missing id', [{ id: '', path: 'x' }], 'Every embedding model needs an id'],
    [
      'a duplicate id',
      [
        { id: 'a', path: 'x' },
        { id: 'a', path: 'y' },
      ],
      'Embedding model id "a" is configured twice',
    ],
    ['both path and hubId', [{ id: 'a', path: 'x', hubId: 'o/n' }], 'needs exactly one of path or hubId'],
    ['neither path nor hubId', [{ id: 'a' }], 'needs exactly one of path or hubId'],
    ['a hubId escaping the cache', [{ id: 'a', hubId: '../etc' }], 'hubId must look like owner/name'],
    ['a revision escaping the cache', [{ id: 'a', hubId: 'o/n', revision: '../../x' }], 'revision must be a branch'],
    ['an empty revision', [{ id: 'a', hubId: 'o/n', revision: '' }], 'revision must be a branch'],
  ])('rejects %s', (_, sources, message) => {
    const thrown = catching(() => validateModelSources(sources));
    expect(thrown).toMatchObject({
      code: EmbeddingErrorCode.InvalidConfiguration,
      message: expect.stringContaining(message),
    });
  });

  it('rejects batch limits that are not positive integers', () => {
    const source = { id: 'a', path: 'x' };
    expect(() => new OnnxModel(source, { maxBatchSize: 0 })).toThrow('maxBatchSize must be a positive integer');
    expect(() => new OnnxModel(source, { maxBatchTokens: 1.5 })).toThrow('maxBatchTokens must be');
  });
});

describe(onnxFileCandidates.name, () => {
  it('looks under onnx/ first, then at the top level, for a bare file name', () => {
    expect(onnxFileCandidates()).toEqual(['onnx/model.onnx', 'model.onnx']);
    expect(onnxFileCandidates('model_quantized.onnx')).toEqual(['onnx/model_quantized.onnx', 'model_quantized.onnx']);
    expect(onnxFileCandidates('exports/model.onnx')).toEqual(['exports/model.onnx']);
  });
});

function catching(run: () => void): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
