import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { backoffMs } from '../common/backoff';
import { EmbeddingProvider } from '../embedding/embedding-provider';
import { EmbeddingInputError } from '../embedding/embedding.errors';
import { DeliveryRejectedError, DeliveryTransientError, ReceiverClient } from '../receiver/receiver-client';
import { ReceiverRepository } from '../receiver/receiver.repository';
import { BatchOutcome } from './batch-outcome';
import { ClaimedBatch, ClaimedChunk, SenderRepository } from './sender.repository';

type Vectors = Map<string, Float32Array>;

/**
 * Embeds one claimed batch and delivers it. A link is marked done only after the receiver acknowledged its vector;
 * a bad chunk is isolated (by the index the provider names, or by splitting what the receiver refused) so it fails
 * alone; anything transient puts the links back for a later attempt with backoff.
 */
@Injectable()
export class BatchProcessor {
  private readonly logger = new Logger('Sender');

  constructor(
    private readonly repository: SenderRepository,
    private readonly provider: EmbeddingProvider,
    private readonly receiver: ReceiverClient,
    private readonly vectors: ReceiverRepository,
    private readonly config: AppConfig,
  ) {}

  async process(batch: ClaimedBatch, batchId: string): Promise<void> {
    const stopRenewing = this.keepLeases(batch);
    const outcome = new BatchOutcome();
    try {
      const vectors = await this.vectorsFor(batch, outcome);
      await this.deliver(batch, vectors, outcome);
    } catch (error) {
      outcome.retryLater(stillOpen(batch.items, outcome), `batch ${batchId}: ${messageOf(error)}`);
    } finally {
      stopRenewing();
    }
    await this.settle(outcome);
    this.logger.debug(
      `batch ${batchId} (${batch.model}): ${outcome.done.length} done, ${outcome.failed.length} failed, ` +
        `${outcome.retry.reduce((n, r) => n + r.items.length, 0)} to retry, ${outcome.released.length} released`,
    );
  }

  /** One vector per distinct text: reused from the store when allowed, else embedded once. */
  private async vectorsFor(batch: ClaimedBatch, outcome: BatchOutcome): Promise<Vectors> {
    const hashes = [...new Set(batch.items.map((item) => item.contentHash))];
    const reused = this.config.sender.reuseEmbeddings ? await this.vectors.findByHashes(batch.model, hashes) : new Map();
    const toEmbed = distinctByHash(batch.items.filter((item) => !reused.has(item.contentHash)));
    const embedded = await this.embedIsolating(batch.model, toEmbed, batch.items, outcome);
    return new Map([...reused, ...embedded]);
  }

  private async embedIsolating(model: string, distinct: ClaimedChunk[], all: ClaimedChunk[], outcome: BatchOutcome) {
    const vectors: Vectors = new Map();
    let pending = distinct;
    while (pending.length > 0) {
      try {
        const result = await this.provider.embed(model, pending.map((item) => item.text));
        pending.forEach((item, index) => vectors.set(item.contentHash, result[index]));
        return vectors;
      } catch (error) {
        if (!(error instanceof EmbeddingInputError) || error.index === undefined) throw error;
        const bad = pending[error.index];
        outcome.fail(all.filter((item) => item.contentHash === bad.contentHash), error.message);
        pending = pending.filter((_, index) => index !== error.index);
      }
    }
    return vectors;
  }

  private async deliver(batch: ClaimedBatch, vectors: Vectors, outcome: BatchOutcome): Promise<void> {
    const ready = batch.items.filter((item) => vectors.has(item.contentHash));
    const cancelled = await this.repository.cancelledTasks([...new Set(ready.map((item) => item.taskId))]);
    outcome.release(ready.filter((item) => cancelled.has(item.taskId)));
    for (const [taskId, items] of groupByTask(ready.filter((item) => !cancelled.has(item.taskId)))) {
      await this.deliverIsolating(batch.model, taskId, items, vectors, outcome);
    }
  }

  private async deliverIsolating(model: string, taskId: number, items: ClaimedChunk[], vectors: Vectors, outcome: BatchOutcome) {
    if (items.length === 0) return;
    const dimensions = vectors.get(items[0].contentHash)!.length;
    const delivery = items.map((item) => ({ chunkId: item.chunkId, contentHash: item.contentHash, vector: vectors.get(item.contentHash)! }));
    try {
      await this.receiver.deliver({ taskId, model, dimensions, items: delivery });
      outcome.succeed(items);
    } catch (error) {
      if (error instanceof DeliveryTransientError) return outcome.retryLater(items, error.message);
      if (!(error instanceof DeliveryRejectedError)) throw error;
      await this.isolateRejected(model, taskId, items, vectors, outcome, error);
    }
  }

  /** Fails what the receiver named and delivers the rest; when it named nothing, halves until the bad one is alone. */
  private async isolateRejected(
    model: string,
    taskId: number,
    items: ClaimedChunk[],
    vectors: Vectors,
    outcome: BatchOutcome,
    error: DeliveryRejectedError,
  ) {
    const named = new Map(error.items.map((item) => [item.chunkId, item.message]));
    const bad = items.filter((item) => named.has(item.chunkId));
    if (bad.length > 0) {
      bad.forEach((item) => outcome.fail([item], `receiver refused: ${named.get(item.chunkId)}`));
      return this.deliverIsolating(model, taskId, items.filter((item) => !named.has(item.chunkId)), vectors, outcome);
    }
    if (items.length === 1) return outcome.fail(items, error.message);
    const middle = Math.ceil(items.length / 2);
    await this.deliverIsolating(model, taskId, items.slice(0, middle), vectors, outcome);
    await this.deliverIsolating(model, taskId, items.slice(middle), vectors, outcome);
  }

  private async settle(outcome: BatchOutcome): Promise<void> {
    const { owner, maxAttempts, retryBaseMs } = this.settings();
    await this.repository.markDone(owner, outcome.done);
    await this.repository.markFailed(owner, outcome.failed);
    for (const { items, error } of outcome.retry) {
      const attempt = Math.min(...items.map((item) => item.attempts));
      const links = items.map((item) => item.linkId);
      await this.repository.retryLater(owner, links, error, backoffMs(attempt - 1, retryBaseMs), maxAttempts);
    }
    if (outcome.released.length > 0) await this.repository.release(owner, outcome.released);
  }

  /** Renews the batch's leases at a third of their length, so a slow batch is not taken over while it runs. */
  private keepLeases(batch: ClaimedBatch): () => void {
    const { owner, leaseSeconds } = this.settings();
    const links = batch.items.map((item) => item.linkId);
    const timer = setInterval(() => {
      this.repository.renewLeases(owner, links, leaseSeconds).catch((error) => this.logger.warn(`lease renewal failed: ${messageOf(error)}`));
    }, (leaseSeconds * 1000) / 3);
    timer.unref();
    return () => clearInterval(timer);
  }

  private settings() {
    const { workerId, maxAttempts, retryBaseMs, leaseSeconds } = this.config.sender;
    return { owner: workerId, maxAttempts, retryBaseMs, leaseSeconds };
  }
}

function distinctByHash(items: ClaimedChunk[]): ClaimedChunk[] {
  return [...new Map(items.map((item) => [item.contentHash, item])).values()];
}

function groupByTask(items: ClaimedChunk[]): Map<number, ClaimedChunk[]> {
  const groups = new Map<number, ClaimedChunk[]>();
  for (const item of items) groups.set(item.taskId, [...(groups.get(item.taskId) ?? []), item]);
  return groups;
}

function stillOpen(items: ClaimedChunk[], outcome: BatchOutcome): ClaimedChunk[] {
  const retried = outcome.retry.flatMap((r) => r.items.map((item) => item.linkId));
  const settled = new Set([...outcome.done, ...outcome.failed.map((f) => f.linkId), ...outcome.released, ...retried]);
  return items.filter((item) => !settled.has(item.linkId));
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
