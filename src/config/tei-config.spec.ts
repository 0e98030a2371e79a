import { InvalidConfigError, loadConfig } from './config.loader';

describe('EMBEDDING_PROVIDER=tei configuration', () => {
  it('has defaults for every TEI setting', () => {
    const config = loadConfig({ EMBEDDING_PROVIDER: 'tei', TEI_URL: 'http://gpu-node:8080' });
    expect(config.embedding.tei).toEqual({
      url: 'http://gpu-node:8080',
      apiKey: undefined,
      timeoutMs: 60000,
      maxConcurrency: 0,
      batchSize: 0,
      maxAttempts: 4,
      retryBaseMs: 200,
      startupWaitMs: 120000,
    });
  });

  it.each([{}, { TEI_URL: '' }])('tei without TEI_URL (%j) is refused, naming both', (env) => {
    const load = () => loadConfig({ EMBEDDING_PROVIDER: 'tei', ...env });
    expect(load).toThrow(InvalidConfigError);
    expect(load).toThrow(/EMBEDDING_PROVIDER=tei needs TEI_URL/);
  });

  it('takes at most one EMBEDDING_MODELS entry, a model id, not a folder', () => {
    const base = { EMBEDDING_PROVIDER: 'tei', TEI_URL: 'http://gpu-node:8080' };
    expect(loadConfig({ ...base, EMBEDDING_MODELS: 'BAAI/bge-small-en-v1.5' }).embedding.models).toEqual([
      { id: 'BAAI/bge-small-en-v1.5', hubId: 'BAAI/bge-small-en-v1.5', revision: undefined },
    ]);
    expect(() => loadConfig({ ...base, EMBEDDING_MODELS: 'a/b,c/d' })).toThrow(/names the one model/);
    expect(() => loadConfig({ ...base, EMBEDDING_MODELS: './models/x' })).toThrow(/not a folder/);
  });

  it('checks each setting', () => {
    const base = { EMBEDDING_PROVIDER: 'tei', TEI_URL: 'http://gpu-node:8080' };
    expect(() => loadConfig({ ...base, TEI_URL: 'gpu-node:8080' })).toThrow(
      'TEI_URL must be an http:// or https:// URL',
    );
    expect(() => loadConfig({ ...base, TEI_MAX_ATTEMPTS: '0' })).toThrow(
      'TEI_MAX_ATTEMPTS must be an integer between 1 and 100',
    );
    expect(() => loadConfig({ ...base, TEI_MAX_CONCURRENCY: '-1' })).toThrow(/TEI_MAX_CONCURRENCY/);
    expect(loadConfig({ ...base, TEI_API_KEY: 's3cret' }).embedding.tei.apiKey).toBe('s3cret');
  });

  it('leaves the ONNX provider alone', () => {
    expect(() => loadConfig({ EMBEDDING_PROVIDER: 'onnx' })).not.toThrow();
    expect(() => loadConfig({ EMBEDDING_PROVIDER: 'gpu' })).toThrow('EMBEDDING_PROVIDER must be one of: onnx, tei');
  });
});
