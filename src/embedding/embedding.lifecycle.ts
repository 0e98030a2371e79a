import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { EmbeddingService } from './embedding.service';

/**
 * Loads (downloading if needed) and warms up every configured model before the app serves, so a missing file,
 * a missing GPU or missing CUDA files stop start-up with the model's message instead of failing requests later.
 * With TEI: waits for the server, checks its model against EMBEDDING_MODELS and warms it up.
 */
@Injectable()
export class EmbeddingLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Embedding');

  constructor(private readonly embeddings: EmbeddingService) {}

  /** With nothing to serve, start at once: TEI names its model itself, ONNX needs EMBEDDING_MODELS. */
  async onModuleInit(): Promise<void> {
    await this.embeddings.load();
    if (this.embeddings.readyModels().length > 0) return;
    this.logger.warn(
      'No embedding model configured (EMBEDDING_MODELS is empty): embedding requests answer 503 until one is set, ' +
        'e.g. EMBEDDING_MODELS=sentence-transformers/all-MiniLM-L6-v2',
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.embeddings.close();
  }
}
