import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { EmbeddingProvider } from '../embedding/embedding-provider';

/** Every configured model is loaded and has run its warm-up inference. No model configured is not a failure. */
@Injectable()
export class EmbeddingHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly provider: EmbeddingProvider,
  ) {}

  check() {
    const session = this.health.check('embedding');
    const { models } = this.provider.readiness();
    const summary = { models: models.map(({ id, loaded, warmedUp, device, error }) => ({ id, loaded, warmedUp, device, error })) };
    const failing = models.filter((model) => !model.warmedUp);
    if (failing.length === 0) return session.up(summary);
    return session.down({ ...summary, message: `not ready: ${failing.map((model) => model.error ?? `${model.id} loading`).join('; ')}` });
  }
}
