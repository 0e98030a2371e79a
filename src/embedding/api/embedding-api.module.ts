import { Module } from '@nestjs/common';
import { DeliveryModule } from '../../delivery/delivery.module';
import { EmbeddingModule } from '../embedding.module';
import { NativeEmbeddingController } from './native/native-embedding.controller';
import { NativeEmbeddingService } from './native/native-embedding.service';
import { OpenAiController } from './openai/openai.controller';
import { OpenAiService } from './openai/openai.service';
import { TeiCompatController } from './tei-compat/tei-compat.controller';
import { TeiCompatService } from './tei-compat/tei-compat.service';

/** The embedding routes in three dialects over one EmbeddingService: this service's own, OpenAI's and TEI's. */
@Module({
  imports: [EmbeddingModule, DeliveryModule],
  controllers: [NativeEmbeddingController, OpenAiController, TeiCompatController],
  providers: [NativeEmbeddingService, OpenAiService, TeiCompatService],
})
export class EmbeddingApiModule {}
