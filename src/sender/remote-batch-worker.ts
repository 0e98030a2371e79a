import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { BatchOutcome } from './batch-outcome';
import { messageOf } from '../common/message-of';
import { BatchRunner } from './batch-runner';
import { BatchWorker } from './batch-worker';
import { RemoteAnswer, RemoteEmbeddingClient } from './remote-embedding.client';
import { ClaimedBatch, ClaimedChunk, SenderRepository } from './sender.repository';
import { REMOTE_DEPENDENCY } from './dependency-breakers';
import { withoutBody } from '../logging/safe-error';

/**
 * SENDER_MODE=remote: another instance (SENDER_REMOTE_URL) embeds each batch and delivers the vectors to its own
 * receiver, answering per chunk; this one only claims and settles. A link is done only when the remote reports its
 * chunk delivered, failed when it reports a permanent error for it; transient failures retry later with backoff
 * (or the remote's Retry-After). The served models are the remote's (GET /v1/models), asked again after a failure:
 * while the remote cannot be reached nothing is claimed, so pending chunks keep their attempts.
 */
@Injectable()
export class RemoteBatchWorker extends BatchWorker {
  readonly description: string;
  readonly modelsCanAppear = true;
  private readonly logger = new Logger('Sender');
  private readonly remote: RemoteEmbeddingClient;
  /** The remote's models, asked once and kept; undefined when they must be asked again. */
  private models?: Promise<string[]>;
  private reachable?: boolean;

  constructor(
    private readonly runner: BatchRunner,
    config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly repository: SenderRepository,
  ) {
    super();
    const { remoteUrl, remoteApiKey, remoteTimeoutMs } = config.sender;
    this.remote = new RemoteEmbeddingClient({ url: remoteUrl!, apiKey: remoteApiKey, timeoutMs: remoteTimeoutMs });
    this.description = `through ${remoteUrl}`;
  }

  servedModels(): Promise<string[]> {
    this.models ??= this.remote.models().then(
      (models) => {
        if (models.length === 0) this.models = undefined;
        this.noteReachable(true, `serves ${models.join(', ') || 'no model'}`);
        return models;
      },
      (error) => {
        this.models = undefined;
        this.noteReachable(false, `cannot tell its models (${messageOf(error)}); claiming nothing until it answers`);
        return [];
      },
    );
    return this.models;
  }

  process(batch: ClaimedBatch, batchId: string): Promise<void> {
    return this.runner.run(batch, batchId, async (outcome) => {
      for (const [taskId, items] of await this.runner.openByTask(batch.items, outcome)) {
        const chunks = items.map((item) => ({ id: item.chunkId, text: item.text }));
        // The remote embeds and delivers in one call: from here, all of it is the delivery stage.
        const endDelivery = this.metrics.startStage('delivery');
        // Behind the task's delivery gate: a task cancelled or deleted meanwhile gets nothing sent.
        const answer = await this.repository
          .whileOpen(taskId, () => this.remote.embedAndDeliver(taskId, batch.model, chunks))
          .finally(endDelivery);
        if (answer) this.record(answer, items, outcome);
        else outcome.release(items);
      }
    });
  }

  private record(answer: RemoteAnswer, items: ClaimedChunk[], outcome: BatchOutcome): void {
    if (answer.kind === 'refused') {
      outcome.answered(REMOTE_DEPENDENCY);
      return outcome.fail(items, answer.error, 'remote');
    }
    if (answer.kind === 'transient') {
      // The remote may be down or have dropped the model: ask for its models before claiming more.
      this.models = undefined;
      this.logger.warn(`${withoutBody(answer.error)}; ${items.length} chunks will be retried`);
      return outcome.unavailable(REMOTE_DEPENDENCY, items, answer.error, 'remote', answer.retryAfterMs);
    }
    outcome.answered(REMOTE_DEPENDENCY);
    const unreported: ClaimedChunk[] = [];
    for (const item of items) {
      const result = answer.items.get(item.chunkId);
      if (result?.status === 'delivered') {
        outcome.noteEmbedded([item]);
        outcome.succeed([item]);
        if (result.tokens !== undefined) {
          outcome.tokens.byLink.set(item.linkId, { tokens: result.tokens, saved: result.savedTokens ?? 0 });
        }
      } else if (result?.status === 'failed') {
        outcome.fail([item], result.error ?? 'the remote failed this chunk', 'remote');
      } else {
        unreported.push(item);
      }
    }
    outcome.retryLater(unreported, 'the remote did not report these chunks as delivered or failed', 'remote');
  }

  /** Logs when the remote comes and goes, not on every look. */
  private noteReachable(reachable: boolean, message: string): void {
    if (this.reachable === reachable) return;
    this.reachable = reachable;
    const line = `remote ${this.remote.url} ${message}`;
    if (reachable) this.logger.log(line);
    else this.logger.warn(line);
  }
}
