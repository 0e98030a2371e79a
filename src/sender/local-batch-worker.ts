import { Injectable } from '@nestjs/common';
import { assertUnreachable } from '../common/assert-unreachable';
import { AppConfig } from '../config/app-config';
import { ChunkOutcome, DeliveryService } from '../delivery/delivery.service';
import { embeddingDependency, RECEIVER_DEPENDENCY } from './dependency-breakers';
import { EmbeddingService } from '../embedding/embedding.service';
import { MetricsService } from '../metrics/metrics.service';
import { BatchOutcome } from './batch-outcome';
import { BatchRunner } from './batch-runner';
import { BatchWorker } from './batch-worker';
import { ClaimedBatch, ClaimedChunk, SenderRepository } from './sender.repository';

/** In the background lane: requests to this instance go first, and batches embed whole, in claim order. */
const SENDER_OPTIONS = { background: true };
const SENDER_TERMS = { field: 'texts', label: (index: number) => `texts[${index}]` };

/**
 * SENDER_MODE=local: embeds one claimed batch in-process and delivers it, through the one embed-and-deliver path.
 * A link is marked done only after the receiver acknowledged its vector; a chunk whose text the model refuses or
 * whose vector the receiver refuses fails alone; anything transient puts the links back for a later attempt.
 */
@Injectable()
export class LocalBatchWorker extends BatchWorker {
  readonly description = 'in-process';
  readonly modelsCanAppear = false;

  constructor(
    private readonly runner: BatchRunner,
    private readonly embeddings: EmbeddingService,
    private readonly delivery: DeliveryService,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly repository: SenderRepository,
  ) {
    super();
  }

  async servedModels(): Promise<string[]> {
    return this.embeddings.readyModels();
  }

  /**
   * The whole batch goes through the one embed-and-deliver path: embedded in one call (each distinct text once),
   * then each open task's part delivered behind the task's delivery gate, so a task cancelled or deleted meanwhile
   * gets nothing sent.
   */
  process(batch: ClaimedBatch, batchId: string): Promise<void> {
    return this.runner.run(batch, batchId, async (outcome) => {
      const request = {
        model: batch.model,
        chunks: batch.items,
        options: SENDER_OPTIONS,
        terms: SENDER_TERMS,
        requestLimits: false,
        reuse: this.config.sender.reuseEmbeddings,
      };
      await this.delivery.embedAndDeliver(request, {
        embedded: (items) => {
          outcome.answered(embeddingDependency(batch.model));
          outcome.noteEmbedded(items);
        },
        openTasks: (items) => this.runner.openByTask(items, outcome),
        whileOpen: (taskId, deliver) => this.whileOpen(taskId, deliver),
        settled: (items, outcomes, closed) => (closed ? outcome.release(items) : record(items, outcomes, outcome)),
        charged: ({ byItem, unused }) => {
          outcome.tokens = { byLink: new Map([...byItem].map(([item, tokens]) => [item.linkId, tokens])), unused };
        },
      });
    });
  }

  /** A task's delivery behind its gate, timed as the `delivery` stage; true when it was sent (its task open). */
  private async whileOpen(taskId: number, deliver: () => Promise<void>): Promise<boolean> {
    const endDelivery = this.metrics.startStage('delivery');
    try {
      const sent = await this.repository.whileOpen(taskId, async () => (await deliver(), true));
      return sent === true;
    } finally {
      endDelivery();
    }
  }
}

/** A task's chunks in terms of its links, for the batch's outcome. */
function record(items: ClaimedChunk[], outcomes: Map<ClaimedChunk, ChunkOutcome>, outcome: BatchOutcome): void {
  const retries = new Map<string, { items: ClaimedChunk[]; error: string; countsAttempt: boolean }>();
  let answered = false;
  for (const item of items) {
    const result = outcomes.get(item);
    if (!result) continue;
    switch (result.status) {
      case 'delivered':
        outcome.succeed([item]);
        answered = true;
        break;
      case 'refused':
        outcome.fail([item], result.error, result.by === 'model' ? 'embedding' : 'receiver_rejected');
        answered ||= result.by === 'receiver';
        break;
      case 'retry': {
        const key = `${result.countsAttempt}\n${result.error}`;
        const group = retries.get(key) ?? { items: [], error: result.error, countsAttempt: result.countsAttempt };
        retries.set(key, { ...group, items: [...group.items, item] });
        answered ||= result.countsAttempt;
        break;
      }
      default:
        assertUnreachable(result);
    }
  }
  // The receiver answered (a refusal, an item's own failure are answers too): it works, whatever else failed.
  if (answered) outcome.answered(RECEIVER_DEPENDENCY);
  for (const { items: group, error, countsAttempt } of retries.values()) {
    if (countsAttempt) outcome.retryLater(group, error, 'transient');
    else outcome.unavailable(RECEIVER_DEPENDENCY, group, error, 'transient');
  }
}
