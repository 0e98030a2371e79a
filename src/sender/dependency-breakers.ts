import { Injectable, Logger, Optional } from '@nestjs/common';
import { CircuitBreaker } from '../common/circuit-breaker';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { ReceiverClient } from '../delivery/receiver-client';

/** The receiver (RECEIVER_URL, or the built-in store), as breakers name it. */
export const RECEIVER_DEPENDENCY = 'receiver';
/** The instance a SENDER_MODE=remote sender hands its batches to. */
export const REMOTE_DEPENDENCY = 'remote';
/** A model's embedding back end: only a remote one (TEI, OpenAI-compatible) fails transiently. */
export const embeddingDependency = (model: string) => `embedding:${model}`;

/**
 * One CircuitBreaker per dependency of the sender, made on first use: the sender reports each batch's transient
 * failures and successes to them and claims no batch for a model whose dependency is open (but a trial every
 * SENDER_BREAKER_PROBE_MS); readiness and the metric embedding_tasks_dependency_up show them. With each trial an
 * HTTP receiver also gets its readiness probe, whose success closes the breaker: so it closes when the receiver is
 * back even if no work is left to try (its tasks cancelled meanwhile).
 */
@Injectable()
export class DependencyBreakers {
  private readonly logger = new Logger('Sender');
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    @Optional() private readonly receiver?: ReceiverClient,
  ) {}

  get(dependency: string): CircuitBreaker {
    let breaker = this.breakers.get(dependency);
    if (breaker) return breaker;
    const { breakerFailures: failures, breakerProbeMs: probeMs } = this.config.sender;
    breaker = new CircuitBreaker(dependency, { failures, probeMs }, (up, message) => {
      this.metrics.dependencyUp(dependency, up);
      if (up) this.logger.log(message);
      else this.logger.warn(message);
    });
    this.metrics.dependencyUp(dependency, true);
    this.breakers.set(dependency, breaker);
    return breaker;
  }

  /** The dependencies a model's batches need (SENDER_MODE decides), each asked whether a batch may go now. */
  allowsClaiming(model: string): boolean {
    return this.dependenciesOf(model).every((dependency) => this.allows(dependency));
  }

  dependenciesOf(model: string): string[] {
    if (this.config.sender.mode === 'remote') return [REMOTE_DEPENDENCY];
    return [RECEIVER_DEPENDENCY, embeddingDependency(model)];
  }

  private allows(dependency: string): boolean {
    const breaker = this.get(dependency);
    const open = !breaker.up;
    if (!breaker.allows()) return false;
    if (open) this.probe(dependency, breaker);
    return true;
  }

  /** Only an HTTP receiver's probe tells: the in-process one always answers (the database is what failed). */
  private probe(dependency: string, breaker: CircuitBreaker): void {
    if (dependency !== RECEIVER_DEPENDENCY || !this.config.receiver.url || !this.receiver) return;
    const signal = AbortSignal.timeout(this.config.receiver.timeoutMs);
    this.receiver.checkReachable(signal).then(
      () => breaker.succeeded(),
      () => undefined,
    );
  }

  /** The open ones, for readiness. */
  open(): CircuitBreaker[] {
    return [...this.breakers.values()].filter((breaker) => !breaker.up);
  }
}
