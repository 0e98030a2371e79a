import { Injectable, Logger } from '@nestjs/common';
import { backoffMs } from '../common/backoff';
import { messageOf } from '../common/message-of';
import { AppConfig, pricePerMillionTokens } from '../config/app-config';
import { DependencyBreakers, embeddingDependency } from './dependency-breakers';
import { EmbeddingError, EmbeddingErrorCode } from '../embedding/embedding.errors';
import { BatchCounts, FailureReason, MetricsService, RetryReason, TokenKind } from '../metrics/metrics.service';
import { BatchOutcome } from './batch-outcome';
import { ClaimedBatch, ClaimedChunk, SenderRepository } from './sender.repository';
import { describeError, withoutBody } from '../logging/safe-error';

/**
 * What every batch worker does around its own work, whatever embeds the batch: renews the batch's leases while it
 * runs, releases the links of cancelled tasks, and writes the outcome back in one go at the end. A link is done
 * only when the work said so; whatever the work left open when it threw goes back for a later attempt.
 */
@Injectable()
export class BatchRunner {
  private readonly logger = new Logger('Sender');

  constructor(
    private readonly repository: SenderRepository,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly breakers: DependencyBreakers,
  ) {}

  async run(batch: ClaimedBatch, batchId: string, work: (outcome: BatchOutcome) => Promise<void>): Promise<void> {
    const stopRenewing = this.keepLeases(batch);
    const outcome = new BatchOutcome();
    try {
      await work(outcome);
    } catch (error) {
      const open = stillOpen(batch.items, outcome);
      const message = `batch ${batchId}: ${messageOf(error)}`;
      if (isBackendUnavailable(error)) outcome.unavailable(embeddingDependency(batch.model), open, message, 'error');
      else outcome.retryLater(open, message, 'error');
    } finally {
      stopRenewing();
    }
    this.tellBreakers(outcome);
    this.metrics.batchSettled(batch.model, this.counts(outcome, batch.model));
    const endSettle = this.metrics.startStage('settle');
    await this.settle(outcome, batch.model).finally(endSettle);
    // Structured fields, so a log search finds every line of a batch or a task.
    this.logger.debug({
      msg: `batch ${batchId} settled`,
      batchId,
      model: batch.model,
      taskIds: [...new Set(batch.items.map((item) => item.taskId))],
      done: outcome.done.length,
      failed: outcome.failed.length,
      retried: outcome.retry.reduce((n, retry) => n + retry.items.length, 0),
      released: outcome.released.length,
    });
  }

  /** The items of tasks still open, grouped by task; a cancelled task's items are released untouched. */
  async openByTask(items: ClaimedChunk[], outcome: BatchOutcome): Promise<Map<number, ClaimedChunk[]>> {
    const cancelled = await this.repository.cancelledTasks([...new Set(items.map((item) => item.taskId))]);
    outcome.release(items.filter((item) => cancelled.has(item.taskId)));
    const groups = new Map<number, ClaimedChunk[]>();
    for (const item of items.filter((open) => !cancelled.has(open.taskId))) {
      groups.set(item.taskId, [...(groups.get(item.taskId) ?? []), item]);
    }
    return groups;
  }

  private async settle(outcome: BatchOutcome, model: string): Promise<void> {
    const { workerId: owner, maxAttempts, retryBaseMs } = this.config.sender;
    const { byLink } = outcome.tokens;
    const pricePerMillion = pricePerMillionTokens(this.config, model);
    await this.repository.markDone(owner, outcome.done, byLink.size > 0 ? { byLink, pricePerMillion } : undefined);
    await this.repository.markFailed(owner, outcome.failed);
    for (const { items, error, delayMs, countsAttempt } of outcome.retry) {
      // Transient: the attempts do not grow, so the backoff follows the dependency's failures in a row instead.
      const attempt = countsAttempt ? Math.min(...items.map((item) => item.attempts)) : this.failuresInARow(outcome);
      const links = items.map((item) => item.linkId);
      const delay = delayMs ?? backoffMs(Math.max(0, attempt - 1), retryBaseMs);
      // A chunk's own failure is worth a line (transient ones are told by the breaker); never with its text.
      if (countsAttempt)
        this.logger.warn(`${links.length} chunks failed attempt ${attempt} of ${maxAttempts}: ${withoutBody(error)}`);
      await this.repository.retryLater(owner, links, error, delay, maxAttempts, countsAttempt);
    }
    if (outcome.released.length > 0) await this.repository.release(owner, outcome.released);
  }

  /** Each dependency the batch called hears how it fared: consecutive failures open its breaker, a success closes it. */
  private tellBreakers(outcome: BatchOutcome): void {
    outcome.dependencies.forEach(({ up, error }, dependency) => {
      if (up) this.breakers.get(dependency).succeeded();
      else this.breakers.get(dependency).failed(error);
    });
  }

  /**
   * The backoff exponent of work a dependency put back: its failures in a row, at most SENDER_BREAKER_FAILURES (once
   * the breaker is open its probe paces the retries, and work must be due again when the dependency comes back).
   */
  private failuresInARow(outcome: BatchOutcome): number {
    const failing = [...outcome.dependencies].filter(([, { up }]) => !up);
    const failures = Math.max(1, ...failing.map(([dependency]) => this.breakers.get(dependency).failures));
    return Math.min(failures, this.config.sender.breakerFailures);
  }

  /** The outcome in numbers; a retry that counts an attempt fails a link on its last one (as retryLater's SQL does). */
  private counts(outcome: BatchOutcome, model: string): BatchCounts {
    const failed = new Map<FailureReason, number>();
    const retried = new Map<RetryReason, number>();
    const add = <K>(counts: Map<K, number>, key: K, n: number) => counts.set(key, (counts.get(key) ?? 0) + n);
    outcome.failed.forEach(({ reason }) => add(failed, reason, 1));
    for (const { items, reason, countsAttempt } of outcome.retry) {
      const exhausted = countsAttempt
        ? items.filter((item) => item.attempts >= this.config.sender.maxAttempts).length
        : 0;
      add(failed, 'attempts_exhausted', exhausted);
      add(retried, reason, items.length - exhausted);
    }
    const charged = [...outcome.tokens.byLink.values()];
    const tokens = new Map<TokenKind, number>([
      ['embedded', charged.reduce((sum, link) => sum + link.tokens, 0)],
      ['saved', charged.reduce((sum, link) => sum + link.saved, 0)],
      ['unused', outcome.tokens.unused],
    ]);
    const price = pricePerMillionTokens(this.config, model);
    const cost = price === undefined ? undefined : (tokens.get('embedded')! * price) / 1e6;
    return { embedded: outcome.embedded, delivered: outcome.done.length, failed, retried, tokens, cost };
  }

  /** Renews the batch's leases at a third of their length, so a slow batch is not taken over while it runs. */
  private keepLeases(batch: ClaimedBatch): () => void {
    const { workerId: owner, leaseSeconds } = this.config.sender;
    const links = batch.items.map((item) => item.linkId);
    const timer = setInterval(
      () => {
        this.repository
          .renewLeases(owner, links, leaseSeconds)
          .catch((error) => this.logger.warn(`lease renewal failed: ${describeError(error)}`));
      },
      (leaseSeconds * 1000) / 3,
    );
    timer.unref();
    return () => clearInterval(timer);
  }
}

function stillOpen(items: ClaimedChunk[], outcome: BatchOutcome): ClaimedChunk[] {
  const retried = outcome.retry.flatMap((r) => r.items.map((item) => item.linkId));
  const settled = new Set([...outcome.done, ...outcome.failed.map((f) => f.linkId), ...outcome.released, ...retried]);
  return items.filter((item) => !settled.has(item.linkId));
}

/** A remote embedding back end (TEI, OpenAI-compatible) that could not embed now, even after its own retries. */
const isBackendUnavailable = (error: unknown) =>
  error instanceof EmbeddingError && error.code === EmbeddingErrorCode.BackendUnavailable;
