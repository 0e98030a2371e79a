import { loadConfig } from '../../config/config.loader';
import { createEmbeddingProvider } from './embedding-provider.factory';
import { TeiEmbeddingProvider } from './remote/tei/tei-embedding-provider';

describe('createEmbeddingProvider', () => {
  it('builds the TEI provider for EMBEDDING_PROVIDER=tei', () => {
    const config = loadConfig({ EMBEDDING_PROVIDER: 'tei', TEI_URL: 'http://gpu-node:8080' });
    expect(createEmbeddingProvider(config)).toBeInstanceOf(TeiEmbeddingProvider);
  });
});
