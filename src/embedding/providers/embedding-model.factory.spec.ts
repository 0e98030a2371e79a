import { loadConfig } from '../../config/config.loader';
import { createEmbeddingModels } from './embedding-model.factory';
import { OnnxModel } from './onnx/onnx-model';
import { TeiModel } from './remote/tei/tei-model';

describe('createEmbeddingModels', () => {
  it('builds the TEI model for EMBEDDING_PROVIDER=tei, named by EMBEDDING_MODELS or for now by its server', () => {
    const config = loadConfig({ EMBEDDING_PROVIDER: 'tei', TEI_URL: 'http://gpu-node:8080' });
    const [model, ...rest] = createEmbeddingModels(config);
    expect(model).toBeInstanceOf(TeiModel);
    expect(rest).toEqual([]);
    expect(model.id).toBe('TEI at http://gpu-node:8080');
    const named = loadConfig({ EMBEDDING_PROVIDER: 'tei', TEI_URL: 'http://gpu-node:8080', EMBEDDING_MODELS: 'a/b' });
    expect(createEmbeddingModels(named)[0].id).toBe('a/b');
  });

  it('builds one ONNX model per EMBEDDING_MODELS entry, in order, none loaded yet', () => {
    const config = loadConfig({ EMBEDDING_MODELS: 'first=./models/a,second=./models/b' });
    const models = createEmbeddingModels(config);
    expect(models.map((model) => [model.constructor, model.id])).toEqual([
      [OnnxModel, 'first'],
      [OnnxModel, 'second'],
    ]);
    expect(() => models[0].info()).toThrow('Embedding model "first" is not loaded yet');
  });
});
