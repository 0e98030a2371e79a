import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { embedSettingAside } from '../embedding/embed-setting-aside';
import { EmbeddingProvider } from '../embedding/providers/embedding-provider';
import { DeliveryReport, IsolatingDelivery } from '../delivery/isolating-delivery';
import { MetricsService } from '../metrics/metrics.service';
import { ReceiverRepository } from '../receiver/receiver.repository';
import { BatchOutcome } from './batch-outcome';
import { BatchRunner } from './batch-runner';
import { BatchWorker } from './batch-worker';
import { ClaimedBatch, ClaimedChunk } from './sender.repository';

type Vectors = Map<string, Float32Array>;

/**
 * SENDER_MODE=local: embeds one claimed batch in-process and delivers it. A link is marked done only after the
 * receiver acknowledged its vector; a bad chunk is isolated (by the index the provider names, or by what the
 * receiver refused) so it fails alone; anything transient puts the links back for a later attempt with backoff.
 */
@Injectable()
export class BatchProcessor extends BatchWorker {
  readonly description = 'in-process';
  readonly modelsCanAppear = false;

  constructor(
    private readonly runner: BatchRunner,
    private readonly provider: EmbeddingProvider,
    private readonly delivery: IsolatingDelivery,
    private readonly vectors: ReceiverRepository,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    super();
  }

  async servedModels(): Promise<string[]> {
    return this.provider.models().map((model) => model.id);
  }

  process(batch: ClaimedBatch, batchId: string): Promise<void> {
    return this.runner.run(batch, batchId, async (outcome) => {
      const vectors = await this.vectorsFor(batch, outcome);
      const ready = batch.items.filter((item) => vectors.has(item.contentHash));
      for (const [taskId, items] of await this.runner.openByTask(ready, outcome)) {
        await this.deliver(batch.model, taskId, items, vectors, outcome);
      }
    });
  }

  /** One vector per distinct text: reused from the store when allowed, else embedded once. */
  private async vectorsFor(batch: ClaimedBatch, outcome: BatchOutcome): Promise<Vectors> {
    const hashes = [...new Set(batch.items.map((item) => item.contentHash))];
    const reused = this.config.sender.reuseEmbeddings
      ? await this.vectors.findByHashes(batch.model, hashes)
      : new Map();
    const toEmbed = distinctByHash(batch.items.filter((item) => !reused.has(item.contentHash)));
    const { vectors, refused } = await embedSettingAside(
      toEmbed.map((item) => item.text),
      // In the background lane: requests to this instance go first, and batches embed whole, in claim order.
      (texts) => this.provider.embed(batch.model, texts, { background: true }),
    );
    refused.forEach((error, index) => {
      outcome.fail(
        batch.items.filter((item) => item.contentHash === toEmbed[index].contentHash),
        error,
        'embedding',
      );
    });
    const embedded = [...vectors].map(([index, vector]) => [toEmbed[index].contentHash, vector] as const);
    const embeddedHashes = new Set(embedded.map(([hash]) => hash));
    outcome.noteEmbedded(batch.items.filter((item) => embeddedHashes.has(item.contentHash)));
    return new Map([...reused, ...embedded]);
  }

  private async deliver(model: string, taskId: number, items: ClaimedChunk[], vectors: Vectors, outcome: BatchOutcome) {
    const dimensions = vectors.get(items[0].contentHash)!.length;
    const delivery = items.map((item) => ({
      chunkId: item.chunkId,
      contentHash: item.contentHash,
      vector: vectors.get(item.contentHash)!,
    }));
    const report = new DeliveryReport();
    const endDelivery = this.metrics.startStage('delivery');
    try {
      await this.delivery.deliver({ taskId, model, dimensions, items: delivery }, report);
    } finally {
      endDelivery();
      record(report, items, outcome);
    }
  }
}

/** A task's delivery report in terms of its links (chunk ids are unique within a task). */
function record(report: DeliveryReport, items: ClaimedChunk[], outcome: BatchOutcome): void {
  const byChunk = new Map(items.map((item) => [item.chunkId, item]));
  const links = (chunkIds: number[]) => chunkIds.map((chunkId) => byChunk.get(chunkId)!);
  outcome.succeed(links(report.delivered));
  report.refused.forEach(({ chunkId, error }) => outcome.fail(links([chunkId]), error, 'receiver_rejected'));
  report.retry.forEach(({ chunkIds, error }) => outcome.retryLater(links(chunkIds), error, 'transient'));
}

function distinctByHash(items: ClaimedChunk[]): ClaimedChunk[] {
  return [...new Map(items.map((item) => [item.contentHash, item])).values()];
}
