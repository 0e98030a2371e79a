import { Inject, Injectable } from '@nestjs/common';
import { EmbedCall, EmbeddingService } from '../embedding/embedding.service';
import { EmbedOptions } from '../embedding/providers/embedding-model';
import { VectorReuse } from '../receiver/vector-reuse';
import { ChargedTokens, chargeTokens, LinkTokens } from './charge-tokens';
import { EmbeddedChunks } from './embedded-chunks';
import { DeliveryReport, IsolatingDelivery } from './isolating-delivery';

/** A chunk of a task to embed and deliver. */
export interface ChunkToDeliver {
  taskId: number;
  chunkId: number;
  text: string;
  /** Hex sha-256 of the text: what the receiver checks, and what reuse looks vectors up by. */
  contentHash: string;
}

export interface EmbedChunksRequest<T extends ChunkToDeliver = ChunkToDeliver> {
  /** Default: the first served model. */
  model?: string;
  /** May hold one text several times (the same chunk in several tasks, or equal texts): each is embedded once. */
  chunks: T[];
  options: EmbedOptions;
  /** The caller's terms for messages: the field holding the chunks, and how chunk `index`'s text is named. */
  terms: Pick<EmbedCall, 'field' | 'label'>;
  /** Apply the per-request limits (EMBED_MAX_*): a request from outside, not the sender's own batch. */
  requestLimits: boolean;
  /** Take vectors already stored for the same text and model instead of embedding again, where the store can tell. */
  reuse: boolean;
}

/**
 * What became of one chunk. A retry's `countsAttempt`: the failure is the chunk's own (a 5xx for it alone), which uses
 * one of its attempts; otherwise the receiver was unavailable (unreachable, 503, every part failing), which uses none.
 */
export type ChunkOutcome =
  | { status: 'delivered'; tokens: LinkTokens }
  | { status: 'refused'; by: 'model' | 'receiver'; error: string }
  | { status: 'retry'; error: string; countsAttempt: boolean };

export interface DeliveredChunks<T> {
  model: string;
  dimensions: number;
  /** Per chunk, for those of open tasks that were settled (a task closed meanwhile has none). */
  outcomes: Map<T, ChunkOutcome>;
  /** Tokens embedded for texts no chunk of which was delivered (refused, retried, their task closed). */
  unusedTokens: number;
}

/**
 * How a caller takes part in a delivery. The sender keeps each task's delivery behind the task's gate, releases the
 * chunks of tasks cancelled meanwhile and counts as it goes; POST /embeddings/batch needs none of it.
 */
export interface DeliveryHooks<T> {
  /** The model answered; `chunks` are those whose vector it computed now (not reused). */
  embedded?(chunks: T[]): void;
  /** The chunks of tasks still open, by task; default: all of them. */
  openTasks?(chunks: T[]): Promise<Map<number, T[]>>;
  /** Runs one task's delivery while the task is open; false: it closed meanwhile, nothing was sent. */
  whileOpen?(taskId: number, deliver: () => Promise<void>): Promise<boolean>;
  /**
   * One task's chunks, settled; also when its delivery broke part-way, with what was settled before. `closed`: the
   * task closed before anything was sent (whileOpen said so).
   */
  settled?(chunks: T[], outcomes: Map<T, ChunkOutcome>, closed: boolean): void;
  /** The tokens, once every task is settled (or the delivery broke): what each delivered chunk cost or saved. */
  charged?(tokens: ChargedTokens<T>): void;
}

/**
 * The one embed-and-deliver path: the local sender's batches and POST /embeddings/batch with `deliver` (which a
 * SENDER_MODE=remote sender calls) both come here. Each distinct text is embedded once (or its stored vector
 * reused), each task's chunks are delivered through IsolatingDelivery, and every chunk gets its outcome with its
 * tokens. A text the model refuses and a vector the receiver refuses fail only their chunk; what may succeed later
 * is reported for a retry.
 */
@Injectable()
export class DeliveryService {
  constructor(
    private readonly embeddings: EmbeddingService,
    private readonly isolating: IsolatingDelivery,
    /** Null unless the built-in store is the receiver (VectorReuse says why). */
    @Inject(VectorReuse) private readonly stored: VectorReuse | null,
  ) {}

  async embedAndDeliver<T extends ChunkToDeliver>(
    request: EmbedChunksRequest<T>,
    hooks: DeliveryHooks<T> = {},
  ): Promise<DeliveredChunks<T>> {
    const embedded = await this.embed(request);
    hooks.embedded?.(request.chunks.filter((chunk) => embedded.embedded.has(chunk.contentHash)));
    const outcomes = new Map<T, ChunkOutcome>();
    let charged: ChargedTokens<T>;
    try {
      const tasks = (await hooks.openTasks?.(request.chunks)) ?? byTask(request.chunks);
      for (const [taskId, chunks] of tasks) await this.deliverTask(embedded, taskId, chunks, outcomes, hooks);
    } finally {
      // Whatever was delivered before a failure is done, and carries its tokens.
      charged = chargeTokens(request.chunks, (chunk) => outcomes.get(chunk)?.status === 'delivered', embedded);
      charged.byItem.forEach((tokens, chunk) => outcomes.set(chunk, { status: 'delivered', tokens }));
      hooks.charged?.(charged);
    }
    return { model: embedded.model, dimensions: embedded.dimensions, outcomes, unusedTokens: charged.unused };
  }

  /**
   * One task's chunks through the receiver, isolating refused items; a chunk whose text the model refused is
   * refused without being sent. An error that is neither a refusal nor transient (a bug) propagates, after the
   * chunks settled before it are reported.
   */
  private async deliverTask<T extends ChunkToDeliver>(
    embedded: EmbeddedChunks,
    taskId: number,
    chunks: T[],
    outcomes: Map<T, ChunkOutcome>,
    hooks: DeliveryHooks<T>,
  ): Promise<void> {
    const report = new DeliveryReport();
    const { model, dimensions, vectors, refused } = embedded;
    const items = chunks
      .filter((chunk) => vectors.has(chunk.contentHash))
      .map(({ chunkId, contentHash }) => ({ chunkId, contentHash, vector: vectors.get(contentHash)! }));
    let ran = false;
    const deliver = async () => {
      ran = true;
      if (items.length > 0) await this.isolating.deliver({ taskId, model, dimensions, items }, report);
    };
    let closed = false;
    try {
      if (hooks.whileOpen) closed = !(await hooks.whileOpen(taskId, deliver));
      else await deliver();
    } finally {
      if (ran) settle(chunks, refused, report, outcomes);
      hooks.settled?.(chunks, outcomes, closed);
    }
  }

  /** One vector per distinct text: reused from the store when asked and possible, the rest embedded in one call. */
  private async embed(request: EmbedChunksRequest<ChunkToDeliver>): Promise<EmbeddedChunks> {
    const model = this.embeddings.resolveModel(request.model).id;
    const distinct = distinctTexts(request.chunks);
    const reused = await this.reusable(model, request, [...distinct.keys()]);
    const toEmbed = [...distinct].filter(([hash]) => !reused.has(hash));
    const vectors = new Map(reused);
    const refused = new Map<string, string>();
    const embedded = new Set<string>();
    const tokens = await this.savedTokens(model, request, distinct, reused);
    if (toEmbed.length === 0) {
      return { model, dimensions: vectors.values().next().value?.length ?? 0, vectors, refused, embedded, tokens };
    }
    const { field, label } = request.terms;
    const call = {
      model,
      texts: toEmbed.map(([, { text }]) => text),
      options: request.options,
      field,
      label: (index: number) => label(toEmbed[index][1].index),
    };
    const outcome = await this.embeddings.embedEach(call, request.requestLimits);
    toEmbed.forEach(([hash], index) => {
      const vector = outcome.vectors[index];
      if (!vector) return void refused.set(hash, outcome.refused.get(index)!.message);
      vectors.set(hash, vector);
      embedded.add(hash);
      tokens.set(hash, outcome.tokens[index]);
    });
    return { model, dimensions: outcome.dimensions, vectors, refused, embedded, tokens };
  }

  /** What the reused texts would have cost: counted by the model's tokenizer where there is one (no inference). */
  private async savedTokens(
    model: string,
    request: EmbedChunksRequest,
    distinct: Map<string, { text: string }>,
    reused: Map<string, Float32Array>,
  ): Promise<Map<string, number>> {
    if (reused.size === 0) return new Map();
    const hashes = [...reused.keys()];
    const texts = hashes.map((hash) => distinct.get(hash)!.text);
    const counts = await this.embeddings.countTokens(model, texts, request.options);
    return new Map(hashes.map((hash, index) => [hash, counts[index]]));
  }

  private async reusable(model: string, request: EmbedChunksRequest, hashes: string[]) {
    if (!request.reuse || !this.stored) return new Map<string, Float32Array>();
    return this.stored.findByHashes(model, hashes);
  }
}

/** Chunks grouped by task, in order. */
function byTask<T extends ChunkToDeliver>(chunks: T[]): Map<number, T[]> {
  const tasks = new Map<number, T[]>();
  for (const chunk of chunks) tasks.set(chunk.taskId, [...(tasks.get(chunk.taskId) ?? []), chunk]);
  return tasks;
}

/** A task's delivery report (by chunk id, unique within a task) as each chunk's outcome; tokens come later. */
function settle<T extends ChunkToDeliver>(
  chunks: T[],
  refusedByModel: Map<string, string>,
  report: DeliveryReport,
  outcomes: Map<T, ChunkOutcome>,
): void {
  const byChunk = new Map(chunks.map((chunk) => [chunk.chunkId, chunk]));
  const set = (chunkId: number, outcome: ChunkOutcome) => outcomes.set(byChunk.get(chunkId)!, outcome);
  chunks.forEach(({ chunkId, contentHash }) => {
    const error = refusedByModel.get(contentHash);
    if (error !== undefined) set(chunkId, { status: 'refused', by: 'model', error });
  });
  report.delivered.forEach((chunkId) => set(chunkId, { status: 'delivered', tokens: { tokens: 0, saved: 0 } }));
  report.refused.forEach(({ chunkId, error }) => set(chunkId, { status: 'refused', by: 'receiver', error }));
  report.retry.forEach(({ chunkIds, error, countsAttempt }) =>
    chunkIds.forEach((chunkId) => set(chunkId, { status: 'retry', error, countsAttempt })),
  );
}

/** Each distinct text once, by content hash, with the position of the first chunk holding it. */
function distinctTexts(chunks: ChunkToDeliver[]): Map<string, { text: string; index: number }> {
  const distinct = new Map<string, { text: string; index: number }>();
  chunks.forEach(({ contentHash, text }, index) => {
    if (!distinct.has(contentHash)) distinct.set(contentHash, { text, index });
  });
  return distinct;
}
