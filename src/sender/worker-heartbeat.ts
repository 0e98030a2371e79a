import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { describeError } from '../logging/safe-error';
import { WorkerRepository } from '../task/worker.repository';
import { BatchWorker } from './batch-worker';

/**
 * Tells the database which models this sender serves (its row in mgmt.worker), every WORKER_HEARTBEAT_INTERVAL_MS,
 * so the API can say when a task waits for a model nobody serves. The first beat is written before the app takes
 * requests; the row goes on a clean shutdown, or expires after three missed beats when the process dies. A sender
 * that serves nothing (and cannot learn models later) writes no row.
 */
@Injectable()
export class WorkerHeartbeat implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Sender');
  private timer?: NodeJS.Timeout;
  private beating?: Promise<void>;
  private failing = false;

  constructor(
    private readonly workers: WorkerRepository,
    private readonly worker: BatchWorker,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.sender.enabled) return;
    if ((await this.worker.servedModels()).length === 0 && !this.worker.modelsCanAppear) return;
    await this.beat();
    // Unref'd: the beat alone never keeps a process alive that has nothing else to do.
    this.timer = setInterval(() => void this.beatOnce(), this.config.sender.heartbeatIntervalMs).unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.workers
      .remove(this.config.sender.workerId)
      .catch((error) => this.logger.warn(`removing the heartbeat row failed: ${describeError(error)}`));
  }

  /** One beat at a time: a slow database delays the next instead of piling them up. */
  private beatOnce(): void {
    if (this.beating) return;
    this.beating = this.beat().finally(() => (this.beating = undefined));
  }

  /** A failed beat is logged once until one succeeds again: the row simply expires if the database stays away. */
  private async beat(): Promise<void> {
    const { workerId, heartbeatIntervalMs } = this.config.sender;
    try {
      await this.workers.beat(workerId, await this.worker.servedModels(), heartbeatIntervalMs);
      if (this.failing) this.logger.log('heartbeat written again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn(`writing the heartbeat failed: ${describeError(error)}`);
      this.failing = true;
    }
  }
}
