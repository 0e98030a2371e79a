import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { EmbeddingModule } from '../embedding/embedding.module';
import { resolveSearchBackend, SearchBackend } from './search-backend';
import { SearchController } from './search.controller';
import { SearchIndexService } from './search-index.service';
import { SearchRepository } from './search.repository';
import { SearchService } from './search.service';
import { createVectorSearch, ExactVectorSearch, VectorSearch } from './vector-search';

/**
 * POST /search over the built-in store (mgmt.embedding), exact on any PostgreSQL or through pgvector's HNSW indexes;
 * SEARCH_MODE and the database decide which at start-up (resolveSearchBackend).
 */
@Module({
  imports: [EmbeddingModule],
  controllers: [SearchController],
  providers: [
    SearchRepository,
    SearchService,
    SearchIndexService,
    ExactVectorSearch,
    { provide: SearchBackend, inject: [AppConfig, SearchRepository], useFactory: resolveSearchBackend },
    {
      provide: VectorSearch,
      inject: [SearchBackend, SearchRepository, ExactVectorSearch, AppConfig],
      useFactory: createVectorSearch,
    },
  ],
})
export class SearchModule {}
