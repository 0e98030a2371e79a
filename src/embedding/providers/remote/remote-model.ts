import { setMaxListeners } from 'node:events';
import { backoffMs } from '../../../common/backoff';
import { messageOf } from '../../../common/message-of';
import { retrying } from '../../../common/retry';
import { modelNotReady } from '../../embedding.errors';
import {
  EmbedInput,
  EmbeddingLogger,
  EmbeddingModel,
  EmbedOptions,
  EmbedResult,
  ModelInfo,
  ModelReadiness,
} from '../embedding-model';

export interface RemoteModelOptions {
  /** The server, as messages name it. */
  url: string;
  /** How long start-up waits for the server to answer. */
  startupWaitMs: number;
  logger?: EmbeddingLogger;
  /** The state before start-up, and after close. */
  initialStatus: ModelReadiness;
}

/** How start-up waits for a server: what may pass with time, what ends it, how the wait is logged. */
export interface ServerWait {
  mayPass: (error: unknown) => boolean;
  /** The error that ends start-up. */
  giveUp: (error: unknown) => unknown;
  waiting: (error: unknown) => string;
}

/**
 * What a model on another server (TEI, an OpenAI-compatible API) shares: its life cycle (one start at a time, a
 * close that aborts every request in flight), its state for readiness, waiting for the server at start-up, and the
 * batch limit the server may lower. Each back end adds its protocol: how it starts, embeds and what else it can.
 */
export abstract class RemoteModel implements EmbeddingModel {
  protected status: ModelReadiness;
  protected served?: ModelInfo;
  /** Aborts every request in flight on close; each call in progress listens to it. */
  protected closing = closingController();
  private loading?: Promise<void>;

  protected constructor(
    private readonly remote: RemoteModelOptions,
    /** Inputs per request; the server may name a smaller limit later (learnBatchLimit). */
    protected batchSize: number,
  ) {
    this.status = { ...remote.initialStatus };
  }

  get id(): string {
    return this.served?.id ?? this.status.id;
  }

  load(): Promise<void> {
    this.loading ??= this.start().catch((error: unknown) => {
      this.status = { ...this.status, error: messageOf(error) };
      throw error;
    });
    return this.loading;
  }

  async close(): Promise<void> {
    this.closing.abort(modelNotReady(this.id));
    this.closing = closingController();
    this.loading = undefined;
    this.served = undefined;
    this.status = { ...this.remote.initialStatus };
  }

  info(): ModelInfo {
    if (!this.served) throw modelNotReady(this.id);
    return this.served;
  }

  async readiness(_signal?: AbortSignal): Promise<ModelReadiness> {
    return { ...this.status };
  }

  abstract embed(inputs: EmbedInput[], options?: EmbedOptions): Promise<EmbedResult>;

  /** Finds the server, checks what it serves and warms the model up. */
  protected abstract start(): Promise<void>;

  protected ready(info: ModelInfo): void {
    this.served = info;
    this.status = { ...this.status, id: info.id, loaded: true, warmedUp: true, device: 'remote', error: undefined };
  }

  /**
   * Asks until the server answers: it may still be loading its model (minutes on a fresh GPU node) or starting
   * beside this service. What `wait.mayPass` is waited out, with backoff, for startupWaitMs at most.
   */
  protected waitForServer<T>(ask: (signal: AbortSignal) => Promise<T>, wait: ServerWait): Promise<T> {
    const deadline = Date.now() + this.remote.startupWaitMs;
    const signal = this.closing.signal;
    return retrying(
      () => ask(signal),
      (error, attempt) => {
        const waitMs = Math.min(backoffMs(attempt - 1, 250, 5_000), deadline - Date.now());
        if (!wait.mayPass(error) || waitMs <= 0) throw wait.giveUp(error);
        this.remote.logger?.warn(wait.waiting(error));
        return waitMs;
      },
      signal,
    );
  }

  /** The server named a smaller batch limit than it said or than configured: keep to it from now. */
  protected learnBatchLimit(limit: number): void {
    if (limit >= this.batchSize) return;
    this.remote.logger?.warn(`${this.remote.url} takes at most ${limit} inputs per request now; was ${this.batchSize}`);
    this.batchSize = limit;
  }
}

function closingController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
