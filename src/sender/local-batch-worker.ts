import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { chargeTokens } from '../delivery/charge-tokens';
import { DeliveryService } from '../delivery/delivery.service';
import { EmbeddedChunks } from '../delivery/embedded-chunks';
import { embeddingDependency, RECEIVER_DEPENDENCY } from './dependency-breakers';
import { DeliveryReport } from '../delivery/isolating-delivery';
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

  /** The whole batch is embedded in one call (each distinct text once); then each open task's part is delivered. */
  process(batch: ClaimedBatch, batchId: string): Promise<void> {
    return this.runner.run(batch, batchId, async (outcome) => {
      const embedded = await this.delivery.embed({
        model: batch.model,
        chunks: batch.items,
        options: SENDER_OPTIONS,
        terms: SENDER_TERMS,
        requestLimits: false,
        reuse: this.config.sender.reuseEmbeddings,
      });
      outcome.answered(embeddingDependency(batch.model));
      outcome.noteEmbedded(batch.items.filter((item) => embedded.embedded.has(item.contentHash)));
      try {
        await this.deliverByTask(batch, embedded, outcome);
      } finally {
        // Whatever was delivered before a failure is done, and carries its tokens.
        const done = new Set(outcome.done);
        const { byItem, unused } = chargeTokens(batch.items, (item) => done.has(item.linkId), embedded);
        outcome.tokens = { byLink: new Map([...byItem].map(([item, tokens]) => [item.linkId, tokens])), unused };
      }
    });
  }

  /** Each task's part behind the task's delivery gate: a task cancelled or deleted meanwhile gets nothing sent. */
  private async deliverByTask(batch: ClaimedBatch, embedded: EmbeddedChunks, outcome: BatchOutcome): Promise<void> {
    for (const [taskId, items] of await this.runner.openByTask(batch.items, outcome)) {
      const report = new DeliveryReport();
      const endDelivery = this.metrics.startStage('delivery');
      try {
        const sent = await this.repository.whileOpen(taskId, () =>
          this.delivery.deliver(embedded, taskId, items, report),
        );
        if (!sent) outcome.release(items);
      } finally {
        endDelivery();
        record(report, items, outcome);
      }
    }
  }
}

/** A task's delivery report in terms of its links (chunk ids are unique within a task). */
function record(report: DeliveryReport, items: ClaimedChunk[], outcome: BatchOutcome): void {
  const byChunk = new Map(items.map((item) => [item.chunkId, item]));
  const links = (chunkIds: number[]) => chunkIds.map((chunkId) => byChunk.get(chunkId)!);
  outcome.succeed(links(report.delivered));
  report.refused.forEach(({ chunkId, error, by }) => {
    outcome.fail(links([chunkId]), error, by === 'model' ? 'embedding' : 'receiver_rejected');
  });
  const answered = report.delivered.length > 0 || report.refused.some(({ by }) => by === 'receiver');
  if (answered || report.retry.some(({ chunk }) => chunk)) outcome.answered(RECEIVER_DEPENDENCY);
  report.retry.forEach(({ chunkIds, error, chunk }) => {
    if (chunk) outcome.retryLater(links(chunkIds), error, 'transient');
    else outcome.unavailable(RECEIVER_DEPENDENCY, links(chunkIds), error, 'transient');
  });
}
