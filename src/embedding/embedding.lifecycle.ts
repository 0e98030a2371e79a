import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { EmbeddingProvider } from './providers/embedding-provider';

/**
 * Loads (downloading if needed) and warms up every configured model before the app serves, so a missing file,
 * a missing GPU or missing CUDA files stop start-up with the provider's message instead of failing requests later.
 * With TEI: waits for the server, checks its model against EMBEDDING_MODELS and warms it up.
 */
@Injectable()
export class EmbeddingLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Embedding');

  constructor(
    private readonly provider: EmbeddingProvider,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    // TEI names its model itself (GET /info), so it needs no EMBEDDING_MODELS entry.
    if (this.config.embedding.models.length === 0 && this.config.embedding.provider !== 'tei') {
      this.logger.warn(
        'No embedding model configured (EMBEDDING_MODELS is empty): embedding requests answer 503 until one is set, ' +
          'e.g. EMBEDDING_MODELS=sentence-transformers/all-MiniLM-L6-v2',
      );
      return;
    }
    await this.provider.init();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.provider.close();
  }
}
