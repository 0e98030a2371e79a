import { InferenceSession, Tensor } from 'onnxruntime-node';
import { inspectGraph } from '../../src/embedding/providers/onnx/graph-signature';
import { readModelFiles } from '../../src/embedding/providers/onnx/model-files/model-files';
import { sessionOptions } from '../../src/embedding/providers/onnx/onnx-session';
import { TextTokenizer } from '../../src/embedding/providers/tokenizer/text-tokenizer';
import { TokenizedText, truncateTokens } from '../../src/embedding/providers/tokenizer/tokenized-text';
import { BatchLimits, padBatch, planBatches, runCostTokens } from '../../src/embedding/providers/onnx/token-batches';

type Feeds = Record<string, Tensor>;

/**
 * The ceiling: onnxruntime on exactly the batches the provider builds (same tokenizer, truncation, length-sorted
 * plan, padding, graph inputs and session settings), with everything but session.run done before timing starts.
 */
export class RawSession {
  private constructor(
    private readonly session: InferenceSession,
    private readonly tokenizer: TextTokenizer,
    private readonly maxTokens: number,
    private readonly padId: number,
    private readonly outputName: string,
    private readonly feedsTokenTypes: boolean,
  ) {}

  /**
   * `modelFile`: another ONNX file of the folder (EMBEDDING_MODEL_FILE); `overrides`: session options over the
   * provider's, for benchmarks that compare settings.
   */
  static async open(
    modelDir: string,
    { modelFile, overrides }: { modelFile?: string; overrides?: InferenceSession.SessionOptions } = {},
  ): Promise<RawSession> {
    const files = await readModelFiles('raw', modelDir, modelFile);
    const tokenizer = TextTokenizer.fromFile(files.tokenizerPath);
    const padId = (files.padToken === undefined ? undefined : tokenizer.tokenId(files.padToken)) ?? 0;
    // The provider's defaults (every core for intra-op threads), with the overrides on top; on the calling thread,
    // so the baseline is onnxruntime alone (the provider runs its session on a thread of its own).
    const options = { ...sessionOptions({ device: 'cpu' }, ['cpu']), ...overrides };
    const session = await InferenceSession.create(files.onnxPath, options);
    const graph = inspectGraph('raw', session);
    return new RawSession(session, tokenizer, files.maxTokens, padId, graph.outputName, graph.feedsTokenTypes);
  }

  get maxLength(): number {
    return this.maxTokens;
  }

  /** Token counts before truncation. */
  async tokenLengths(texts: string[]): Promise<number[]> {
    return (await this.tokenizer.encode(texts)).map((text) => text.ids.length);
  }

  /** Token counts after truncation to the model's limit: what the model computes on. */
  async truncatedLengths(texts: string[]): Promise<number[]> {
    return (await this.tokenize(texts)).map((text) => text.ids.length);
  }

  async tokenize(texts: string[]): Promise<TokenizedText[]> {
    return (await this.tokenizer.encode(texts)).map((text) => truncateTokens(text, this.maxTokens));
  }

  /** The provider's batches for `texts`, as ready-made feeds. */
  async prepareBatches(texts: string[], limits: BatchLimits): Promise<Feeds[]> {
    const tokenized = await this.tokenize(texts);
    const lengths = tokenized.map((text) => text.ids.length);
    const plan = planBatches(lengths, limits, runCostTokens('cpu', limits));
    return plan.map((indexes) => {
      const batch = padBatch(tokenized, indexes, this.padId);
      return this.feeds(batch.inputIds, batch.attentionMask, batch.tokenTypeIds, [
        batch.batchSize,
        batch.sequenceLength,
      ]);
    });
  }

  /** The batches in corpus order, `size` texts each, as a caller that does not sort by length pads them. */
  async prepareUnsorted(texts: string[], size: number): Promise<Feeds[]> {
    const tokenized = await this.tokenize(texts);
    const plan = Array.from({ length: Math.ceil(texts.length / size) }, (_, batch) =>
      tokenized.slice(batch * size, (batch + 1) * size).map((_, row) => batch * size + row),
    );
    return plan.map((indexes) => {
      const batch = padBatch(tokenized, indexes, this.padId);
      return this.feeds(batch.inputIds, batch.attentionMask, batch.tokenTypeIds, [
        batch.batchSize,
        batch.sequenceLength,
      ]);
    });
  }

  async runAll(batches: Feeds[]): Promise<void> {
    for (const feeds of batches) {
      await this.session.run(feeds, [this.outputName]);
    }
  }

  release(): Promise<void> {
    return this.session.release();
  }

  private feeds(ids: BigInt64Array, mask: BigInt64Array, types: BigInt64Array, shape: number[]): Feeds {
    const feeds: Feeds = {
      input_ids: new Tensor('int64', ids, shape),
      attention_mask: new Tensor('int64', mask, shape),
    };
    if (this.feedsTokenTypes) {
      feeds.token_type_ids = new Tensor('int64', types, shape);
    }
    return feeds;
  }
}
