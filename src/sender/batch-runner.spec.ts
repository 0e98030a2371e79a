import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { DependencyBreakers } from './dependency-breakers';
import { EmbeddingError, EmbeddingErrorCode } from '../embedding/embedding.errors';
import { BatchRunner } from './batch-runner';
import { ClaimedChunk, SenderRepository } from './sender.repository';

/** The counts BatchRunner reports when it settles a batch (the SQL side is covered by the pipeline tests). */
describe('BatchRunner metrics', () => {
  const config = {
    embedding: { models: [{ id: 'm' }] },
    sender: {
      workerId: 'w',
      maxAttempts: 3,
      retryBaseMs: 10,
      leaseSeconds: 60,
      breakerFailures: 2,
      breakerProbeMs: 50,
    },
  } as unknown as AppConfig;
  const repository = {
    markDone: jest.fn(async () => 0),
    markFailed: jest.fn(async () => undefined),
    retryLater: jest.fn(async () => undefined),
    release: jest.fn(async () => 0),
  } as unknown as SenderRepository;
  let metrics: MetricsService;
  let runner: BatchRunner;
  let breakers: DependencyBreakers;

  beforeEach(() => {
    jest.clearAllMocks();
    metrics = new MetricsService(config);
    breakers = new DependencyBreakers(config, metrics);
    runner = new BatchRunner(repository, config, metrics, breakers);
  });

  const link = (linkId: number, attempts = 1): ClaimedChunk => ({
    linkId,
    taskId: 1,
    chunkId: linkId,
    attempts,
    text: `t${linkId}`,
    contentHash: `h${linkId}`,
  });

  async function counter(name: string, labels: Record<string, string>): Promise<number | undefined> {
    const metric = await metrics.registry.getSingleMetric(`embedding_tasks_${name}`)!.get();
    return metric.values.find((value) => Object.entries(labels).every(([k, v]) => value.labels[k] === v))?.value;
  }

  it('counts embedded, delivered, failed by reason, and a retry on the last attempt as attempts_exhausted', async () => {
    const items = [link(1), link(2), link(3), link(4, 3), link(5, 2)];
    await runner.run({ model: 'm', items }, 'b1', async (outcome) => {
      outcome.noteEmbedded(items.slice(0, 3));
      outcome.succeed([items[0], items[1]]);
      outcome.fail([items[2]], 'refused', 'receiver_rejected');
      outcome.retryLater([items[3], items[4]], 'receiver down', 'transient');
    });
    expect(await counter('chunks_embedded_total', { model: 'm' })).toBe(3);
    expect(await counter('chunks_delivered_total', { model: 'm' })).toBe(2);
    expect(await counter('chunks_failed_total', { model: 'm', reason: 'receiver_rejected' })).toBe(1);
    expect(await counter('chunks_failed_total', { model: 'm', reason: 'attempts_exhausted' })).toBe(1);
    expect(await counter('chunks_retried_total', { model: 'm', reason: 'transient' })).toBe(1);
  });

  it('retries what a throwing batch left open, as reason error', async () => {
    const items = [link(1), link(2)];
    await runner.run({ model: 'm', items }, 'b2', async (outcome) => {
      outcome.succeed([items[0]]);
      throw new Error('the model crashed');
    });
    expect(await counter('chunks_delivered_total', { model: 'm' })).toBe(1);
    expect(await counter('chunks_retried_total', { model: 'm', reason: 'error' })).toBe(1);
  });

  it('puts back what a dependency failed without using attempts (even on the last), and opens its breaker', async () => {
    const items = [link(1, 3), link(2, 1)];
    for (const id of ['b3', 'b4']) {
      await runner.run({ model: 'm', items }, id, async (outcome) => {
        outcome.unavailable('receiver', items, 'receiver answered 503: busy', 'transient');
      });
    }
    expect((await counter('chunks_failed_total', { model: 'm', reason: 'attempts_exhausted' })) ?? 0).toBe(0);
    expect(await counter('chunks_retried_total', { model: 'm', reason: 'transient' })).toBe(4);
    const calls = (repository.retryLater as jest.Mock).mock.calls;
    expect(calls.map((call) => call[5])).toEqual([false, false]);
    expect(breakers.get('receiver').up).toBe(false);
    expect(await counter('dependency_up', { dependency: 'receiver' })).toBe(0);
  });

  it('closes the breaker on the first batch the dependency answers', async () => {
    const items = [link(1)];
    for (let n = 0; n < 2; n++) {
      await runner.run({ model: 'm', items }, `b${n}`, async (outcome) =>
        outcome.unavailable('receiver', items, 'down', 'transient'),
      );
    }
    await runner.run({ model: 'm', items }, 'b9', async (outcome) => {
      outcome.answered('receiver');
      outcome.succeed(items);
    });
    expect(breakers.get('receiver').up).toBe(true);
    expect(await counter('dependency_up', { dependency: 'receiver' })).toBe(1);
  });

  it('takes a remote back end that cannot embed now as unavailable, not as the chunks’ failure', async () => {
    const items = [link(1, 3)];
    await runner.run({ model: 'm', items }, 'b5', async () => {
      throw new EmbeddingError(EmbeddingErrorCode.BackendUnavailable, 'TEI answered 503');
    });
    expect((repository.retryLater as jest.Mock).mock.calls[0][5]).toBe(false);
    expect(breakers.get('embedding:m').failures).toBe(1);
    expect((await counter('chunks_failed_total', { model: 'm', reason: 'attempts_exhausted' })) ?? 0).toBe(0);
  });

  it('backs off transient retries by the dependency’s failures in a row, no further than the breaker threshold', async () => {
    const items = [link(1)];
    for (let n = 0; n < 12; n++) {
      await runner.run({ model: 'm', items }, `b${n}`, async (outcome) =>
        outcome.unavailable('receiver', items, 'down', 'transient'),
      );
    }
    // retryBaseMs 10, breakerFailures 2: at most 10 × 2^(2 − 1), however long the outage.
    const delays = (repository.retryLater as jest.Mock).mock.calls.map((call) => call[3]);
    expect(delays).toHaveLength(12);
    expect(Math.max(...delays)).toBeLessThanOrEqual(20);
  });
});
