import { createHash } from 'node:crypto';
import { ensureModel } from '../../test/fixtures/model/make-model';
import { AppConfig } from '../config/app-config';
import { EmbeddingService } from '../embedding/embedding.service';
import { allEmbedded, EmbedOptions } from '../embedding/providers/embedding-provider';
import { OnnxEmbeddingProvider } from '../embedding/providers/onnx/onnx-embedding-provider';
import { VectorReuse } from '../receiver/vector-reuse';
import { ChunkToDeliver, DeliveryService, EmbedChunksRequest } from './delivery.service';
import { IsolatingDelivery } from './isolating-delivery';
import { DeliveryBatch, ReceiverClient } from './receiver-client';

/** Records every batch it is handed, and stores it. */
class RecordingReceiver extends ReceiverClient {
  readonly batches: DeliveryBatch[] = [];

  async deliver(batch: DeliveryBatch): Promise<void> {
    this.batches.push(batch);
  }

  async checkReachable(): Promise<void> {}
}

/** A store holding one vector per content hash, counting the look-ups. */
class FixedStore extends VectorReuse {
  lookups = 0;

  constructor(private readonly vectors: Map<string, Float32Array>) {
    super();
  }

  async findByHashes(_model: string, hashes: string[]): Promise<Map<string, Float32Array>> {
    this.lookups++;
    return new Map(hashes.filter((hash) => this.vectors.has(hash)).map((hash) => [hash, this.vectors.get(hash)!]));
  }
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const chunk = (chunkId: number, text: string): ChunkToDeliver => ({ chunkId, text, contentHash: sha256(text) });

/** The one embed-and-deliver path, with the real tiny model behind the real EmbeddingService. */
describe('DeliveryService', () => {
  const config = { embedding: { models: [{ id: 'tiny' }], maxInputs: 10, maxInputChars: 200 } } as AppConfig;
  let provider: OnnxEmbeddingProvider;
  let embed: jest.SpyInstance;
  let receiver: RecordingReceiver;

  beforeAll(async () => {
    provider = new OnnxEmbeddingProvider({ models: [{ id: 'tiny', path: await ensureModel('tiny') }] });
    await provider.init();
  });
  afterAll(() => provider.close());
  beforeEach(() => {
    receiver = new RecordingReceiver();
    embed = jest.spyOn(provider, 'embed');
  });
  afterEach(() => embed.mockRestore());

  const service = (store: VectorReuse | null) =>
    new DeliveryService(new EmbeddingService(provider, config), new IsolatingDelivery(receiver), store);

  function request(chunks: ChunkToDeliver[], change: Partial<EmbedChunksRequest> = {}): EmbedChunksRequest {
    const terms = { field: 'chunks', label: (index: number) => `chunks[${index}].text` };
    return { model: 'tiny', chunks, options: {}, terms, requestLimits: false, reuse: false, ...change };
  }

  const vectorsOf = async (texts: string[], options?: EmbedOptions) =>
    allEmbedded(await provider.embed('tiny', texts, options));

  it('embeds each distinct text once, in one call, and delivers every chunk with its own text’s vector', async () => {
    const chunks = [chunk(1, 'same text'), chunk(2, 'other text'), chunk(3, 'same text')];
    const { model, dimensions, report } = await service(null).embedAndDeliver(7, request(chunks));
    expect(embed).toHaveBeenCalledTimes(1);
    expect(embed.mock.calls[0][1]).toEqual(['same text', 'other text']);
    expect({ model, dimensions, delivered: report.delivered, refused: report.refused }).toEqual({
      model: 'tiny',
      dimensions: 32,
      delivered: [1, 2, 3],
      refused: [],
    });
    const [sent] = receiver.batches;
    expect(sent).toMatchObject({ taskId: 7, model: 'tiny', dimensions: 32 });
    const [same, other] = await vectorsOf(['same text', 'other text']);
    expect(sent.items.map((item) => [...item.vector])).toEqual([[...same], [...other], [...same]]);
  });

  it('delivers stored vectors instead of embedding again when asked and the store can tell', async () => {
    const stored = Float32Array.from({ length: 32 }, (_, index) => index / 32);
    const store = new FixedStore(new Map([[sha256('stored text'), stored]]));
    const chunks = [chunk(1, 'stored text'), chunk(2, 'new text')];
    const embedded = await service(store).embed(request(chunks, { reuse: true }));
    expect(embed.mock.calls.map((call) => call[1])).toEqual([['new text']]);
    expect(embedded.vectors.get(sha256('stored text'))).toBe(stored);
    expect([...embedded.embedded]).toEqual([sha256('new text')]);
  });

  it('counts each text’s tokens: what embedding cost, and for a reused vector what it saved, by the tokenizer', async () => {
    const store = new FixedStore(new Map([[sha256('stored text here'), Float32Array.of(1, 2)]]));
    const chunks = [chunk(1, 'stored text here'), chunk(2, 'a new text'), chunk(3, 'a new text')];
    const { tokens } = await service(store).embed(request(chunks, { reuse: true }));
    const [stored, fresh] = await provider.countTokens('tiny', ['stored text here', 'a new text']);
    expect((await provider.embed('tiny', ['a new text'])).tokenCounts).toEqual([fresh]);
    expect(Object.fromEntries(tokens)).toEqual({ [sha256('stored text here')]: stored, [sha256('a new text')]: fresh });
    expect(stored).toBeGreaterThan(2);
  });

  it('asks no model when every text is stored', async () => {
    const store = new FixedStore(new Map([[sha256('stored text'), Float32Array.of(1, 2)]]));
    const embedded = await service(store).embed(request([chunk(1, 'stored text')], { reuse: true }));
    expect(embed).not.toHaveBeenCalled();
    expect(embedded).toMatchObject({ model: 'tiny', dimensions: 2, embedded: new Set() });
  });

  it('embeds everything when reuse is not asked for, or when no store can tell (another receiver)', async () => {
    const store = new FixedStore(new Map([[sha256('stored text'), Float32Array.of(1, 2)]]));
    await service(store).embed(request([chunk(1, 'stored text')], { reuse: false }));
    await service(null).embed(request([chunk(1, 'stored text')], { reuse: true }));
    expect(store.lookups).toBe(0);
    expect(embed).toHaveBeenCalledTimes(2);
  });

  it('fails only the chunks whose text is refused, in the caller’s terms, and never sends them', async () => {
    const long = Array.from({ length: 80 }, () => 'a').join(' ');
    const chunks = [chunk(1, 'fine'), chunk(2, long), chunk(3, ''), chunk(4, 'x'.repeat(201))];
    const options = { truncate: false };
    const { report } = await service(null).embedAndDeliver(7, request(chunks, { options, requestLimits: true }));
    expect(report.delivered).toEqual([1]);
    expect(report.refused).toEqual([
      {
        chunkId: 2,
        error: expect.stringMatching(/^chunks\[1\]\.text is 82 tokens long, over the 64-token limit/),
        by: 'model',
      },
      { chunkId: 3, error: 'chunks[2].text must not be empty', by: 'model' },
      { chunkId: 4, error: 'chunks[3].text: at most 200 characters; got 201', by: 'model' },
    ]);
    expect(receiver.batches.map((batch) => batch.items.map((item) => item.chunkId))).toEqual([[1]]);
  });

  it('applies no request limit to the sender’s own batches', async () => {
    const { report } = await service(null).embedAndDeliver(7, request([chunk(1, 'x'.repeat(201))]));
    expect(report.delivered).toEqual([1]);
  });
});
