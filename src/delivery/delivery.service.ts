import { Inject, Injectable } from '@nestjs/common';
import { EmbedCall, EmbeddingService } from '../embedding/embedding.service';
import { EmbedOptions } from '../embedding/providers/embedding-provider';
import { VectorReuse } from '../receiver/vector-reuse';
import { chargeTokens, LinkTokens } from './charge-tokens';
import { EmbeddedChunks } from './embedded-chunks';
import { DeliveryReport, IsolatingDelivery } from './isolating-delivery';

/** A chunk to embed and deliver. */
export interface ChunkToDeliver {
  chunkId: number;
  text: string;
  /** Hex sha-256 of the text: what the receiver checks, and what reuse looks vectors up by. */
  contentHash: string;
}

export interface EmbedChunksRequest {
  /** Default: the first served model. */
  model?: string;
  /** May hold one text several times (the same chunk in several tasks, or equal texts): each is embedded once. */
  chunks: ChunkToDeliver[];
  options: EmbedOptions;
  /** The caller's terms for messages: the field holding the chunks, and how chunk `index`'s text is named. */
  terms: Pick<EmbedCall, 'field' | 'label'>;
  /** Apply the per-request limits (EMBED_MAX_*): a request from outside, not the sender's own batch. */
  requestLimits: boolean;
  /** Take vectors already stored for the same text and model instead of embedding again, where the store can tell. */
  reuse: boolean;
}

export interface DeliveredChunks {
  model: string;
  dimensions: number;
  report: DeliveryReport;
  /** What each delivered chunk cost or saved, by chunk id (see chargeTokens). */
  tokens: Map<number, LinkTokens>;
}

/**
 * The one embed-and-deliver path: the local sender's batches and POST /embeddings/batch with `deliver` (which a
 * SENDER_MODE=remote sender calls) both embed here, then deliver here. A text the model refuses and a vector the
 * receiver refuses fail only their chunk; what may succeed later is reported for a retry.
 */
@Injectable()
export class DeliveryService {
  constructor(
    private readonly embeddings: EmbeddingService,
    private readonly isolating: IsolatingDelivery,
    /** Null unless the built-in store is the receiver (VectorReuse says why). */
    @Inject(VectorReuse) private readonly stored: VectorReuse | null,
  ) {}

  /** Both steps, for chunks of one task: what became of each, and the model and vector size that served them. */
  async embedAndDeliver(taskId: number, request: EmbedChunksRequest): Promise<DeliveredChunks> {
    const embedded = await this.embed(request);
    const report = await this.deliver(embedded, taskId, request.chunks);
    const delivered = new Set(report.delivered);
    const { byItem } = chargeTokens(request.chunks, (chunk) => delivered.has(chunk.chunkId), embedded);
    const tokens = new Map([...byItem].map(([chunk, counted]) => [chunk.chunkId, counted]));
    return { model: embedded.model, dimensions: embedded.dimensions, report, tokens };
  }

  /** One vector per distinct text: reused from the store when asked and possible, the rest embedded in one call. */
  async embed(request: EmbedChunksRequest): Promise<EmbeddedChunks> {
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

  /**
   * Delivers one task's chunks through the receiver, isolating refused items; a chunk whose text the model refused
   * is reported refused without being sent. An error that is neither a refusal nor transient (a bug) propagates,
   * and the report passed in keeps what was settled before it.
   */
  async deliver(
    embedded: EmbeddedChunks,
    taskId: number,
    chunks: ChunkToDeliver[],
    report = new DeliveryReport(),
  ): Promise<DeliveryReport> {
    const { model, dimensions, vectors, refused } = embedded;
    chunks.forEach(({ chunkId, contentHash }) => {
      const error = refused.get(contentHash);
      if (error !== undefined) report.refused.push({ chunkId, error, by: 'model' });
    });
    const items = chunks
      .filter((chunk) => vectors.has(chunk.contentHash))
      .map(({ chunkId, contentHash }) => ({ chunkId, contentHash, vector: vectors.get(contentHash)! }));
    if (items.length === 0) return report;
    return this.isolating.deliver({ taskId, model, dimensions, items }, report);
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

/** Each distinct text once, by content hash, with the position of the first chunk holding it. */
function distinctTexts(chunks: ChunkToDeliver[]): Map<string, { text: string; index: number }> {
  const distinct = new Map<string, { text: string; index: number }>();
  chunks.forEach(({ contentHash, text }, index) => {
    if (!distinct.has(contentHash)) distinct.set(contentHash, { text, index });
  });
  return distinct;
}
