import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from '../config/app-config';
import { deadline } from '../common/backoff';
import { MetricsService } from '../metrics/metrics.service';
import { BatchWorker } from './batch-worker';
import { ClaimedBatch, SenderRepository } from './sender.repository';
import { DependencyBreakers } from './dependency-breakers';
import { WorkNotifier } from './work-notifier';
import { describeError, describeWithStack } from '../logging/safe-error';

const POLL_JOB = 'sender-poll';

/**
 * The scheduled loop: claims batches while work is waiting, up to SENDER_CONCURRENCY in flight per model (so a
 * rate-limited remote model, whose batches wait for its budget, never holds up another model), only of tasks for
 * the models the BatchWorker of SENDER_MODE serves, and hands each to that worker. A poll interval (registered with
 * @nestjs/schedule) and LISTEN/NOTIFY wake it; it never runs two claim loops at once. On shutdown it stops
 * claiming, lets in-flight batches finish within the grace period and releases the leases it still holds, so
 * other workers take them at once.
 */
@Injectable()
export class SenderService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Sender');
  private readonly inFlight = new Set<Promise<void>>();
  /** Batches in flight per model: each model has its own SENDER_CONCURRENCY places. */
  private readonly perModel = new Map<string, number>();
  private notifier?: WorkNotifier;
  private claiming = false;
  private wakeAgain = false;
  private stopping = false;
  private batchCount = 0;

  constructor(
    private readonly repository: SenderRepository,
    private readonly worker: BatchWorker,
    private readonly scheduler: SchedulerRegistry,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly breakers: DependencyBreakers,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.sender.enabled) return;
    const models = await this.worker.servedModels();
    if (models.length === 0 && !this.worker.modelsCanAppear) {
      this.logger.warn('Sender idle: no embedding model is served here (EMBEDDING_MODELS)');
      return;
    }
    this.metrics.addModels(models);
    this.notifier = new WorkNotifier(this.listenUrl(), () => this.wake());
    await this.notifier.start();
    const poll = setInterval(() => void this.poll(), this.config.sender.pollIntervalMs);
    this.scheduler.addInterval(POLL_JOB, poll);
    const serving = models.join(', ') || 'no model yet';
    this.logger.log(`Sender ${this.config.sender.workerId} serving ${serving} ${this.worker.description}`);
    if (!this.config.sender.listen) this.logger.log('New work found by polling alone (SENDER_LISTEN_ENABLED=false)');
    this.wake();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.stopping || !this.notifier) return;
    this.stopping = true;
    this.scheduler.deleteInterval(POLL_JOB);
    await this.notifier.stop();
    const graceOver = deadline(this.config.sender.shutdownGraceMs);
    await Promise.race([Promise.allSettled([...this.inFlight]), graceOver]);
    const released = await this.repository.release(this.config.sender.workerId);
    this.logFinished();
    this.logger.log(`Sender stopped (${this.inFlight.size} batches unfinished, ${released} chunks released)`);
  }

  /** Behind a transaction-pooling PgBouncer LISTEN needs its own direct connection, or none (polling alone). */
  private listenUrl(): string | undefined {
    if (!this.config.sender.listen) return undefined;
    return this.config.database.listenUrl ?? this.config.database.url;
  }

  /** Claims until the window is full or no work is left; a wake during a claim loop runs it once more. */
  wake(): void {
    if (this.stopping) return;
    if (this.claiming) {
      this.wakeAgain = true;
      return;
    }
    this.claiming = true;
    void this.claimLoop().finally(() => (this.claiming = false));
  }

  private async claimLoop(): Promise<void> {
    do {
      this.wakeAgain = false;
      await this.fillWindow().catch((error) => this.logger.error(`claim failed: ${describeError(error)}`));
    } while (this.wakeAgain && !this.stopping);
  }

  private async fillWindow(): Promise<void> {
    const { workerId, batchSize, leaseSeconds, concurrency } = this.config.sender;
    while (!this.stopping) {
      const served = await this.worker.servedModels();
      // A model whose receiver or back end is down (its breaker open) is not claimed for, but for a trial batch.
      const models = served.filter(
        (model) => (this.perModel.get(model) ?? 0) < concurrency && this.breakers.allowsClaiming(model),
      );
      if (models.length === 0) return;
      const endClaim = this.metrics.startStage('claim');
      let batch: ClaimedBatch | undefined;
      try {
        batch = await this.repository.claim({ owner: workerId, models, batchSize, leaseSeconds });
      } finally {
        endClaim(batch ? 'claim' : 'claim_empty');
      }
      if (!batch) return;
      this.metrics.batchClaimed(batch.model, batch.items.length);
      this.logStarted(batch.startedTaskIds ?? []);
      this.track(this.worker.process(batch, `${workerId}#${++this.batchCount}`), batch.model);
    }
  }

  /** A settled batch frees its place in the window (and its model's) at once and reports the tasks it finished. */
  private track(work: Promise<void>, model: string): void {
    this.perModel.set(model, (this.perModel.get(model) ?? 0) + 1);
    const settled: Promise<void> = work
      .catch((error) => this.logger.error(`batch failed unexpectedly: ${describeWithStack(error)}`))
      .finally(() => {
        this.inFlight.delete(settled);
        this.perModel.set(model, this.perModel.get(model)! - 1);
        this.logFinished();
        this.wake();
      });
    this.inFlight.add(settled);
  }

  private async poll(): Promise<void> {
    try {
      // A crash loop fails its chunk after twice the attempts: leases also expire when a whole worker dies.
      const reclaimed = await this.repository.reclaimExpired(2 * this.config.sender.maxAttempts);
      this.metrics.leasesReclaimed(reclaimed);
      if (reclaimed > 0) this.logger.warn(`reclaimed ${reclaimed} chunks whose lease expired`);
      this.logFinished();
    } catch (error) {
      this.logger.error(`reclaiming expired leases failed: ${describeError(error)}`);
    }
    this.wake();
  }

  private logStarted(taskIds: number[]): void {
    for (const id of taskIds) {
      this.logger.log({ msg: `task ${id} started`, taskId: id });
    }
  }

  /** The database finishes a task in the statement that settles its last link; the repository says which. */
  private logFinished(): void {
    for (const task of this.repository.takeFinished()) {
      this.logger.log({
        msg: `task ${task.id} ${task.status}: ${task.done} done, ${task.failed} failed`,
        taskId: task.id,
        done: task.done,
        failed: task.failed,
      });
    }
  }
}
