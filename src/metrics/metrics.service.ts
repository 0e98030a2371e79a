import { Injectable, Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AppConfig, configuredModelIds } from '../config/app-config';
import { describeError } from '../logging/safe-error';

export const METRICS_PREFIX = 'embedding_tasks_';

/** `claim_empty`: a claim that found nothing (an idle sender's polls), apart so that `claim` times real claims. */
export const STAGES = ['claim', 'claim_empty', 'tokenize', 'inference', 'delivery', 'settle'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * Why links failed for good: the model refused the text, the receiver refused the vector, the remote instance
 * (SENDER_MODE=remote) failed it, or a transient failure came on its last attempt.
 */
export const FAILURE_REASONS = ['embedding', 'receiver_rejected', 'remote', 'attempts_exhausted'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/**
 * Why links went back to pending for a later attempt: the receiver or store said so (`transient`), the remote
 * instance could not be reached or did not report them (`remote`), or the batch's work threw (`error`: the model
 * failed on the batch, a database error).
 */
export const RETRY_REASONS = ['transient', 'remote', 'error'] as const;
export type RetryReason = (typeof RETRY_REASONS)[number];

/**
 * Tokens of the sender's batches: `embedded` charged to links that ended done (stored with their tasks), `saved` by
 * reusing a vector, `unused` embedded for links that did not end done in that batch (refused, retried, cancelled).
 */
export const TOKEN_KINDS = ['embedded', 'saved', 'unused'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

export const QUEUE_STATUSES = ['pending', 'in_progress', 'done', 'failed'] as const;
export type QueueStatus = (typeof QUEUE_STATUSES)[number];
/** Task links by status over all tasks. */
export type QueueDepth = Record<QueueStatus, number>;

/**
 * What one step of embedding cost, for metrics: tokenising the texts of one embed call, or one inference batch
 * (`paddedTokens`: batch size x its longest text, what the model computed). Warm-up runs are not reported.
 */
export type EmbeddingStageStats =
  | { stage: 'tokenize'; model: string; texts: number; seconds: number }
  | { stage: 'inference'; model: string; texts: number; paddedTokens: number; seconds: number };

/** An HTTP status code, or what went wrong before one came back. */
export type ErrorStatus = number | 'network' | 'timeout' | 'error';

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const CHUNKS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const TOKENS = [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];
const HTTP_LABELS = ['method', 'route', 'status_code'];

/**
 * Every metric of the service, in one registry per app instance (several apps share a process in the tests), under
 * one prefix, with label sets bounded by design: models served, the fixed reasons and stages above, HTTP statuses
 * and route templates. The series of the models served at start-up exist from start-up, at zero.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly logger = new Logger('Metrics');
  private readonly knownModels = new Set<string>();

  private readonly claimed = this.counter('chunks_claimed_total', 'Chunks (task links) claimed', ['model']);
  private readonly embedded = this.counter(
    'chunks_embedded_total',
    'Claimed chunks whose vector was computed for their batch (not reused from the store by content hash)',
    ['model'],
  );
  private readonly delivered = this.counter('chunks_delivered_total', 'Chunks the receiver acknowledged', ['model']);
  private readonly failed = this.counter('chunks_failed_total', 'Chunks failed for good', ['model', 'reason']);
  private readonly retried = this.counter('chunks_retried_total', 'Chunks put back for a later attempt', [
    'model',
    'reason',
  ]);
  private readonly tokens = this.counter('tokens_total', 'Tokens of the sender’s batches, by kind', ['model', 'kind']);
  private readonly cost = this.counter(
    'cost_total',
    'Cost of the tokens charged to done links, at the model’s price_per_million_tokens (models file)',
    ['model'],
  );
  private readonly batchSize = this.histogram('batch_size_chunks', 'Chunks per claimed batch', ['model'], CHUNKS);
  private readonly paddedTokens = this.histogram(
    'inference_padded_tokens',
    'Padded tokens (texts x longest text) per inference batch',
    ['model'],
    TOKENS,
  );
  private readonly stageDuration = this.histogram(
    'stage_duration_seconds',
    'Time per stage: claim or claim_empty (a query), tokenize (an embed call), inference (a batch), delivery (a task ' +
      'of a batch), settle (writing a batch outcome back)',
    ['stage'],
    SECONDS,
  );
  private readonly reclaimed = this.counter('leases_reclaimed_total', 'Links whose lease expired, taken back', []);
  private readonly receiverErrors = this.counter('receiver_errors_total', 'Failed deliveries to the receiver', [
    'status',
  ]);
  private readonly teiErrors = this.counter('tei_errors_total', 'Failed requests to the TEI server', ['status']);
  private readonly remoteErrors = this.counter(
    'remote_errors_total',
    'Failed requests to OpenAI-compatible remotes, 429s included',
    ['model', 'status'],
  );
  private readonly dependencyUpGauge = new Gauge({
    name: `${METRICS_PREFIX}dependency_up`,
    help:
      'Whether the sender takes a dependency (receiver, embedding:<model>, remote) as up: 0 while its circuit ' +
      'breaker is open and claims for it are paused',
    labelNames: ['dependency'],
    registers: [this.registry],
  });
  private readonly httpRequests = this.counter('http_requests_total', 'HTTP requests answered', HTTP_LABELS);
  private readonly httpDuration = this.histogram(
    'http_request_duration_seconds',
    'Time to answer an HTTP request',
    HTTP_LABELS,
    SECONDS,
  );

  /** Set by the task feature, which owns the tables (TaskModule); until then a scrape leaves the gauge empty. */
  private readQueueDepth?: () => Promise<QueueDepth>;
  /** Set by the task feature too: open tasks whose model no live worker serves. */
  private readTasksWithoutWorker?: () => Promise<number>;

  constructor(config: AppConfig) {
    collectDefaultMetrics({ register: this.registry, prefix: METRICS_PREFIX });
    const queueDepth: Gauge<'status'> = new Gauge({
      name: `${METRICS_PREFIX}queue_depth`,
      help: 'Task links by status, summed from the per-task counters on scrape',
      labelNames: ['status'],
      registers: [this.registry],
      collect: () => this.refreshQueueDepth(queueDepth),
    });
    const withoutWorker: Gauge = new Gauge({
      name: `${METRICS_PREFIX}open_tasks_without_worker`,
      help: 'Open tasks (pending or running) whose model no live worker serves (mgmt.worker heartbeats), on scrape',
      registers: [this.registry],
      collect: () => this.refreshTasksWithoutWorker(withoutWorker),
    });
    STAGES.forEach((stage) => this.stageDuration.zero({ stage }));
    this.addModels(configuredModelIds(config));
  }

  /** Where the queue_depth gauge reads on each scrape. */
  readQueueDepthWith(read: () => Promise<QueueDepth>): void {
    this.readQueueDepth = read;
  }

  /** Where the open_tasks_without_worker gauge reads on each scrape (one query). */
  readTasksWithoutWorkerWith(read: () => Promise<number>): void {
    this.readTasksWithoutWorker = read;
  }

  /** Creates a model's series at zero, so dashboards see it before its first chunk; known models are skipped. */
  addModels(models: string[]): void {
    for (const model of models.filter((id) => !this.knownModels.has(id))) {
      this.knownModels.add(model);
      [this.claimed, this.embedded, this.delivered].forEach((counter) => counter.inc({ model }, 0));
      FAILURE_REASONS.forEach((reason) => this.failed.inc({ model, reason }, 0));
      RETRY_REASONS.forEach((reason) => this.retried.inc({ model, reason }, 0));
      TOKEN_KINDS.forEach((kind) => this.tokens.inc({ model, kind }, 0));
      this.batchSize.zero({ model });
      this.paddedTokens.zero({ model });
    }
  }

  /** Starts timing a stage; call the answer when it ends, naming another stage when the outcome decides which. */
  startStage(stage: Stage): (endedAs?: Stage) => void {
    const end = this.stageDuration.startTimer({ stage });
    return (endedAs) => void end(endedAs && { stage: endedAs });
  }

  batchClaimed(model: string, chunks: number): void {
    this.addModels([model]);
    this.claimed.inc({ model }, chunks);
    this.batchSize.observe({ model }, chunks);
  }

  /** What became of a batch's links, counted where BatchRunner settles them. */
  batchSettled(model: string, settled: BatchCounts): void {
    add(this.embedded, { model }, settled.embedded);
    add(this.delivered, { model }, settled.delivered);
    settled.failed.forEach((count, reason) => add(this.failed, { model, reason }, count));
    settled.retried.forEach((count, reason) => add(this.retried, { model, reason }, count));
    settled.tokens.forEach((count, kind) => add(this.tokens, { model, kind }, count));
    if (settled.cost !== undefined) add(this.cost, { model }, settled.cost);
  }

  leasesReclaimed(count: number): void {
    add(this.reclaimed, {}, count);
  }

  dependencyUp(dependency: string, up: boolean): void {
    this.dependencyUpGauge.set({ dependency }, up ? 1 : 0);
  }

  receiverError(status: ErrorStatus): void {
    this.receiverErrors.inc({ status: String(status) });
  }

  /** For the TEI provider: one failed request (an HTTP status, or `network`/`timeout` when none came back). */
  teiError(status: ErrorStatus): void {
    this.teiErrors.inc({ status: String(status) });
  }

  /** For the OpenAI-compatible provider: one failed request of a model (429s included), before any retry. */
  remoteError(model: string, status: ErrorStatus): void {
    this.remoteErrors.inc({ model, status: String(status) });
  }

  /** The ONNX models' observer (OnnxSettings.onStage). */
  embeddingStage(stats: EmbeddingStageStats): void {
    this.stageDuration.observe({ stage: stats.stage }, stats.seconds);
    if (stats.stage === 'inference') this.paddedTokens.observe({ model: stats.model }, stats.paddedTokens);
  }

  httpRequest(method: string, route: string, statusCode: number, seconds: number): void {
    const labels = { method, route, status_code: String(statusCode) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  /** The exposition text, with the queue depth read now. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** A failed read keeps the last values and logs: a scrape must not fail because the database is slow or down. */
  private async refreshQueueDepth(gauge: Gauge<'status'>): Promise<void> {
    if (!this.readQueueDepth) return;
    try {
      const depth = await this.readQueueDepth();
      QUEUE_STATUSES.forEach((status) => gauge.set({ status }, depth[status]));
    } catch (error) {
      this.logger.warn(`reading the queue depth failed: ${describeError(error)}`);
    }
  }

  private async refreshTasksWithoutWorker(gauge: Gauge): Promise<void> {
    if (!this.readTasksWithoutWorker) return;
    try {
      gauge.set(await this.readTasksWithoutWorker());
    } catch (error) {
      this.logger.warn(`counting tasks without a worker failed: ${describeError(error)}`);
    }
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[]): Counter<L> {
    return new Counter({ name: `${METRICS_PREFIX}${name}`, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(name: string, help: string, labelNames: L[], buckets: number[]): Histogram<L> {
    return new Histogram({ name: `${METRICS_PREFIX}${name}`, help, labelNames, buckets, registers: [this.registry] });
  }
}

/** A settled batch in numbers: links embedded and delivered, failed and retried by reason. */
export interface BatchCounts {
  embedded: number;
  delivered: number;
  failed: Map<FailureReason, number>;
  retried: Map<RetryReason, number>;
  tokens: Map<TokenKind, number>;
  /** The embedded tokens at the model's price; undefined when it has none. */
  cost?: number;
}

function add<L extends string>(counter: Counter<L>, labels: Partial<Record<L, string>>, count: number): void {
  if (count > 0) counter.inc(labels, count);
}
