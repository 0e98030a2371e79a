import { DynamicModule, Module } from '@nestjs/common';
import { ReceiverController } from './receiver.controller';
import { ReceiverModule } from './receiver.module';

/** The built-in receiver's endpoint, POST /receiver/embeddings, served only when RECEIVER_ENABLED. */
@Module({})
export class ReceiverEndpointModule {
  static register(serveEndpoint: boolean): DynamicModule {
    return {
      module: ReceiverEndpointModule,
      imports: [ReceiverModule],
      controllers: serveEndpoint ? [ReceiverController] : [],
    };
  }
}
