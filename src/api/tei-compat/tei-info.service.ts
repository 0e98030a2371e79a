import { Injectable } from '@nestjs/common';
import { availableParallelism } from 'node:os';
import { AppConfig } from '../../config/app-config';
import { packageVersion } from '../../config/package-version';
import { PoolingMode } from '../../embedding/providers/embedding-model';
import { EmbeddingService } from '../../embedding/embedding.service';
import { TeiInfoDto } from './tei-compat.dto';

/** TEI has no concurrency limit to report here: requests queue. Its own default, so clients see a usual value. */
const TEI_DEFAULT_MAX_CONCURRENT_REQUESTS = 512;
const TEI_POOLING: Partial<Record<PoolingMode, string>> = { lasttoken: 'last_token' };

/** Text Embeddings Inference's `/info` and health routes for the served models. */
@Injectable()
export class TeiInfoService {
  private readonly version = readVersion();

  constructor(
    private readonly embeddings: EmbeddingService,
    private readonly config: AppConfig,
  ) {}

  /** Throws (503 Unhealthy through the filter) unless the model the TEI routes serve by default is ready. */
  health(): void {
    this.embeddings.resolveModel();
  }

  info(modelName?: string): TeiInfoDto {
    const model = this.embeddings.resolveModel(modelName);
    const { maxBatchTokens, maxBatchSize, maxInputs } = this.config.embedding;
    return {
      model_id: model.id,
      model_sha: null,
      model_dtype: model.dtype,
      model_type: { embedding: { pooling: TEI_POOLING[model.pooling] ?? model.pooling } },
      max_concurrent_requests: TEI_DEFAULT_MAX_CONCURRENT_REQUESTS,
      max_input_length: model.maxTokens,
      max_batch_tokens: maxBatchTokens,
      max_batch_requests: maxBatchSize,
      max_client_batch_size: maxInputs,
      auto_truncate: this.config.embedding.autoTruncate,
      tokenization_workers: availableParallelism(),
      version: this.version,
      sha: null,
      docker_label: null,
    };
  }
}

const readVersion = packageVersion;
