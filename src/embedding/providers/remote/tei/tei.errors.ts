import { EmbeddingError, invalidConfiguration } from '../../../embedding.errors';

/** EMBEDDING_MODELS names a model that the TEI server does not serve: refusing beats storing wrong vectors. */
export function teiModelMismatch(configured: string, served: string, url: string): EmbeddingError {
  return invalidConfiguration(
    `EMBEDDING_MODELS names "${configured}" but the TEI server at ${url} serves "${served}" (GET /info model_id): ` +
      `set EMBEDDING_MODELS=${served}, leave it empty to take whatever TEI serves, or point TEI_URL at a server ` +
      `running ${configured}`,
  );
}
