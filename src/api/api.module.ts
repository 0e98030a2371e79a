import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { MemoryBudget } from '../common/memory-budget';
import { AppConfig } from '../config/app-config';
import { AnswerInterceptor } from './answer.interceptor';
import { DialectExceptionFilter } from './dialect-exception.filter';
import { DeliveryModule } from '../delivery/delivery.module';
import { EmbeddingModule } from '../embedding/embedding.module';
import { NativeEmbeddingController } from './native/native-embedding.controller';
import { NativeEmbeddingService } from './native/native-embedding.service';
import { OpenAiController } from './openai/openai.controller';
import { OpenAiService } from './openai/openai.service';
import { TeiCompatController } from './tei-compat/tei-compat.controller';
import { TeiCompatService } from './tei-compat/tei-compat.service';
import { TeiInfoController } from './tei-compat/tei-info.controller';
import { TeiInfoService } from './tei-compat/tei-info.service';
import { TeiTokensController } from './tei-compat/tei-tokens.controller';

/** The embedding routes in three dialects over one EmbeddingService: this service's own, OpenAI's and TEI's. */
@Module({
  imports: [EmbeddingModule, DeliveryModule],
  controllers: [
    NativeEmbeddingController,
    OpenAiController,
    TeiCompatController,
    TeiTokensController,
    TeiInfoController,
  ],
  providers: [
    NativeEmbeddingService,
    OpenAiService,
    TeiCompatService,
    TeiInfoService,
    AnswerInterceptor,
    { provide: MemoryBudget, inject: [AppConfig], useFactory: (config: AppConfig) => budgetOf(config) },
    { provide: APP_FILTER, useClass: DialectExceptionFilter },
  ],
})
export class ApiModule {}

/** One budget for the whole process: every dialect's answers count against HTTP_MEMORY_BUDGET together. */
const budgetOf = (config: AppConfig) => new MemoryBudget(config.memory.budgetBytes);
