import { DynamicModule, Module } from '@nestjs/common';
import { ChunkEmbeddingController } from './chunk-embedding.controller';
import { ReceiverController } from './receiver.controller';
import { ReceiverModule } from './receiver.module';

/**
 * The built-in receiver's routes: GET /chunks/:id/embedding always, POST /receiver/embeddings only when
 * RECEIVER_ENABLED.
 */
@Module({})
export class ReceiverEndpointModule {
  static register(serveEndpoint: boolean): DynamicModule {
    return {
      module: ReceiverEndpointModule,
      imports: [ReceiverModule],
      controllers: serveEndpoint ? [ChunkEmbeddingController, ReceiverController] : [ChunkEmbeddingController],
    };
  }
}
