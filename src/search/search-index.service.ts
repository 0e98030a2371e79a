import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { describeError } from '../logging/safe-error';
import { SearchIndexDto, SearchIndexListDto, SearchIndexState } from './search.dto';
import { SearchError, SearchErrorCode } from './search.errors';
import { SearchBackend } from './search-backend';
import { QueryRunner } from 'typeorm';
import { IndexedType, SearchRepository, StoredModel, VectorIndexRow, vectorIndexName } from './search.repository';
import { indexedType } from './vector-search';

/**
 * Keeps one HNSW index per model with stored vectors, where searches use pgvector: every SEARCH_INDEX_INTERVAL_MS it
 * builds the missing ones (a model whose first vectors landed since), and `embedding-tasks search-index` asks for one
 * at once. Builds run in the background, one at a time across all instances (an advisory lock), CONCURRENTLY, so the
 * receiver keeps storing meanwhile.
 */
@Injectable()
export class SearchIndexService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SearchIndex');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  /** The backend running the builds, while they run. */
  private builder?: number;

  constructor(
    private readonly backend: SearchBackend,
    private readonly repository: SearchRepository,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const { indexIntervalMs } = this.config.search;
    if (!this.backend.pgvector || indexIntervalMs === 0) return;
    this.timer = setInterval(() => this.requestBuilds(), indexIntervalMs);
    this.timer.unref();
    this.requestBuilds();
  }

  /** A build can take minutes: it is cancelled (its invalid index is dropped and built again by the next run). */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.again = false;
    if (this.builder !== undefined) await this.repository.cancelBackend(this.builder).catch(() => undefined);
    await this.running;
  }

  async list(): Promise<SearchIndexListDto> {
    const [models, indexes] = await Promise.all([this.repository.storedModels(), this.repository.vectorIndexes()]);
    return { pgvector: Boolean(this.backend.pgvector), items: models.map((model) => toIndexDto(model, indexes)) };
  }

  /** Starts building the model's index unless it is there (or being built); answers its state. */
  async build(model: string): Promise<SearchIndexDto> {
    if (!this.backend.pgvector) {
      const reason =
        'searches do not use pgvector here (SEARCH_MODE, or the extension is missing; see the start-up log)';
      throw new SearchError(SearchErrorCode.NotIndexable, `no index to build: ${reason}`);
    }
    const stored = (await this.repository.storedModels()).find((entry) => entry.model === model);
    if (!stored) throw new SearchError(SearchErrorCode.NotFound, `model "${model}" has no stored vectors`);
    if (!indexedType(stored.dimensions)) {
      const message = `model "${model}" has ${stored.dimensions} dimensions; an HNSW index takes at most 4000`;
      throw new SearchError(SearchErrorCode.NotIndexable, message);
    }
    const state = toIndexDto(stored, await this.repository.vectorIndexes());
    if (state.state === 'valid') return state;
    this.requestBuilds();
    return { ...state, index: vectorIndexName(model), state: 'building' };
  }

  /** Runs the builds now, or once more after the run in progress. */
  private requestBuilds(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.buildMissing()
      .catch((error) => this.logger.warn(`building search indexes failed: ${describeError(error)}`))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.requestBuilds();
        }
      });
  }

  private async buildMissing(): Promise<void> {
    const extension = this.backend.pgvector;
    if (!extension) return;
    await this.repository.withBuildLock(async (runner, pid) => {
      this.builder = pid;
      try {
        // Read under the lock: an index seen invalid now is no other instance's build in progress, but a leftover.
        const indexes = await this.repository.vectorIndexes();
        for (const model of await this.repository.storedModels()) {
          const type = indexedType(model.dimensions);
          if (type && !indexes.get(vectorIndexName(model.model))?.valid) await this.buildOne(runner, model, type);
        }
      } finally {
        this.builder = undefined;
      }
    });
  }

  private async buildOne(runner: QueryRunner, model: StoredModel, type: IndexedType): Promise<void> {
    const started = performance.now();
    const what = `the search index of model "${model.model}" (${model.dimensions} dimensions, ${type})`;
    this.logger.log(`building ${what}`);
    await this.repository.buildIndex(runner, model, type, this.backend.pgvector!);
    this.logger.log(`built ${what} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

function toIndexDto(model: StoredModel, indexes: Map<string, VectorIndexRow>): SearchIndexDto {
  const index = indexes.get(vectorIndexName(model.model));
  const state: SearchIndexState = !indexedType(model.dimensions)
    ? 'unsupported'
    : index === undefined
      ? 'none'
      : index.valid
        ? 'valid'
        : 'building';
  return { model: model.model, dimensions: model.dimensions, index: index?.name ?? null, state };
}
