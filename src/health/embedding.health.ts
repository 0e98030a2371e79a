import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config';
import { EmbeddingService } from '../embedding/embedding.service';

/**
 * Every configured model is loaded and has run its warm-up inference; with a remote back end (TEI), the server also
 * answers its own health check within HEALTH_CHECK_TIMEOUT_MS. No model configured is not a failure.
 */
@Injectable()
export class EmbeddingHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly embeddings: EmbeddingService,
    private readonly config: AppConfig,
  ) {}

  async check() {
    const session = this.health.check('embedding');
    const { models } = await this.embeddings.readiness(AbortSignal.timeout(this.config.health.timeoutMs));
    const summary = {
      models: models.map(({ id, loaded, warmedUp, device, error }) => ({ id, loaded, warmedUp, device, error })),
    };
    const failing = models.filter((model) => !model.warmedUp || model.error !== undefined);
    if (failing.length === 0) return session.up(summary);
    return session.down({
      ...summary,
      message: `not ready: ${failing.map((model) => model.error ?? `${model.id} loading`).join('; ')}`,
    });
  }
}
