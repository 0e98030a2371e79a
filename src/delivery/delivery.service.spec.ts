import { createHash } from 'node:crypto';
import { ensureModel } from '../../test/fixtures/model/make-model';
import { AppConfig } from '../config/app-config';
import { EmbeddingService } from '../embedding/embedding.service';
import { allEmbedded, EmbedOptions } from '../embedding/providers/embedding-model';
import { OnnxModel } from '../embedding/providers/onnx/onnx-model';
import { VectorReuse } from '../receiver/vector-reuse';
import { ChunkOutcome, ChunkToDeliver, DeliveryService, EmbedChunksRequest } from './delivery.service';
import { IsolatingDelivery } from './isolating-delivery';
import { DeliveryBatch, DeliveryError, DeliveryErrorCode, ReceiverClient } from './receiver-client';

/** Records every batch it is handed, and stores it, unless it is told to fail a task's batches. */
class RecordingReceiver extends ReceiverClient {
  readonly batches: DeliveryBatch[] = [];
  readonly failing = new Map<number, DeliveryError>();

  async deliver(batch: DeliveryBatch): Promise<void> {
    this.batches.push(batch);
    const failure = this.failing.get(batch.taskId);
    if (failure) throw failure;
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
const chunk = (chunkId: number, text: string, taskId = 7): ChunkToDeliver => ({
  taskId,
  chunkId,
  text,
  contentHash: sha256(text),
});

/** The one embed-and-deliver path, with the real tiny model behind the real EmbeddingService. */
describe('DeliveryService', () => {
  const config = { embedding: { models: [{ id: 'tiny' }], maxInputs: 10, maxInputChars: 200 } } as AppConfig;
  let model: OnnxModel;
  let embed: jest.SpyInstance;
  let receiver: RecordingReceiver;

  beforeAll(async () => {
    model = new OnnxModel({ id: 'tiny', path: await ensureModel('tiny') });
    await model.load();
  });
  afterAll(() => model.close());
  beforeEach(() => {
    receiver = new RecordingReceiver();
    embed = jest.spyOn(model, 'embed');
  });
  afterEach(() => embed.mockRestore());

  const service = (store: VectorReuse | null) =>
    new DeliveryService(new EmbeddingService([model], config), new IsolatingDelivery(receiver), store);

  function request(chunks: ChunkToDeliver[], change: Partial<EmbedChunksRequest> = {}): EmbedChunksRequest {
    const terms = { field: 'chunks', label: (index: number) => `chunks[${index}].text` };
    return { model: 'tiny', chunks, options: {}, terms, requestLimits: false, reuse: false, ...change };
  }

  const vectorsOf = async (texts: string[], options?: EmbedOptions) => allEmbedded(await model.embed(texts, options));
  const statuses = (outcomes: Map<ChunkToDeliver, ChunkOutcome>) =>
    [...outcomes].map(([{ chunkId }, outcome]) => [chunkId, outcome.status]);

  it('embeds each distinct text once, in one call, and delivers every chunk with its own text’s vector', async () => {
    const chunks = [chunk(1, 'same text'), chunk(2, 'other text'), chunk(3, 'same text')];
    const { model: name, dimensions, outcomes } = await service(null).embedAndDeliver(request(chunks));
    expect(embed).toHaveBeenCalledTimes(1);
    expect(embed.mock.calls[0][0]).toEqual(['same text', 'other text']);
    expect({ name, dimensions }).toEqual({ name: 'tiny', dimensions: 32 });
    expect(chunks.map((item) => outcomes.get(item)?.status)).toEqual(['delivered', 'delivered', 'delivered']);
    const [sent] = receiver.batches;
    expect(sent).toMatchObject({ taskId: 7, model: 'tiny', dimensions: 32 });
    const [same, other] = await vectorsOf(['same text', 'other text']);
    expect(sent.items.map((item) => [...item.vector])).toEqual([[...same], [...other], [...same]]);
  });

  it('delivers each task’s chunks on their own, and answers each chunk with its tokens, charged once per text', async () => {
    const chunks = [chunk(1, 'shared text', 7), chunk(1, 'shared text', 8), chunk(2, 'own text', 8)];
    const { outcomes, unusedTokens } = await service(null).embedAndDeliver(request(chunks));
    expect(receiver.batches.map((batch) => [batch.taskId, batch.items.map((item) => item.chunkId)])).toEqual([
      [7, [1]],
      [8, [1, 2]],
    ]);
    const [shared, own] = await model.countTokens(['shared text', 'own text']);
    expect(chunks.map((item) => outcomes.get(item))).toEqual([
      { status: 'delivered', tokens: { tokens: shared, saved: 0 } },
      { status: 'delivered', tokens: { tokens: 0, saved: shared } },
      { status: 'delivered', tokens: { tokens: own, saved: 0 } },
    ]);
    expect(unusedTokens).toBe(0);
  });

  it('delivers stored vectors instead of embedding again when asked and the store can tell', async () => {
    const stored = Float32Array.from({ length: 32 }, (_, index) => index / 32);
    const store = new FixedStore(new Map([[sha256('stored text'), stored]]));
    const chunks = [chunk(1, 'stored text'), chunk(2, 'new text')];
    const embeddedNow: ChunkToDeliver[][] = [];
    await service(store).embedAndDeliver(request(chunks, { reuse: true }), { embedded: (c) => embeddedNow.push(c) });
    expect(embed.mock.calls.map((call) => call[0])).toEqual([['new text']]);
    expect(receiver.batches[0].items[0].vector).toBe(stored);
    expect(embeddedNow).toEqual([[chunks[1]]]);
  });

  it('counts each text’s tokens: what embedding cost, and for a reused vector what it saved, by the tokenizer', async () => {
    const store = new FixedStore(new Map([[sha256('stored text here'), Float32Array.of(1, 2)]]));
    const chunks = [chunk(1, 'stored text here'), chunk(2, 'a new text'), chunk(3, 'a new text')];
    const { outcomes } = await service(store).embedAndDeliver(request(chunks, { reuse: true }));
    const [stored, fresh] = await model.countTokens(['stored text here', 'a new text']);
    expect((await model.embed(['a new text'])).tokenCounts).toEqual([fresh]);
    expect(chunks.map((item) => outcomes.get(item))).toEqual([
      { status: 'delivered', tokens: { tokens: 0, saved: stored } },
      { status: 'delivered', tokens: { tokens: fresh, saved: 0 } },
      { status: 'delivered', tokens: { tokens: 0, saved: fresh } },
    ]);
    expect(stored).toBeGreaterThan(2);
  });

  it('asks no model when every text is stored', async () => {
    const store = new FixedStore(new Map([[sha256('stored text'), Float32Array.of(1, 2)]]));
    const { dimensions } = await service(store).embedAndDeliver(request([chunk(1, 'stored text')], { reuse: true }));
    expect(embed).not.toHaveBeenCalled();
    expect(dimensions).toBe(2);
  });

  it('embeds everything when reuse is not asked for, or when no store can tell (another receiver)', async () => {
    const store = new FixedStore(new Map([[sha256('stored text'), Float32Array.of(1, 2)]]));
    await service(store).embedAndDeliver(request([chunk(1, 'stored text')], { reuse: false }));
    await service(null).embedAndDeliver(request([chunk(1, 'stored text')], { reuse: true }));
    expect(store.lookups).toBe(0);
    expect(embed).toHaveBeenCalledTimes(2);
  });

  it('fails only the chunks whose text is refused, in the caller’s terms, and never sends them', async () => {
    const long = Array.from({ length: 80 }, () => 'a').join(' ');
    const chunks = [chunk(1, 'fine'), chunk(2, long), chunk(3, ''), chunk(4, 'x'.repeat(201))];
    const options = { truncate: false };
    const { outcomes } = await service(null).embedAndDeliver(request(chunks, { options, requestLimits: true }));
    expect(chunks.map((item) => outcomes.get(item))).toEqual([
      { status: 'delivered', tokens: expect.any(Object) },
      {
        status: 'refused',
        by: 'model',
        error: expect.stringMatching(/^chunks\[1\]\.text is 82 tokens long, over the 64-token limit/),
      },
      { status: 'refused', by: 'model', error: 'chunks[2].text must not be empty' },
      { status: 'refused', by: 'model', error: 'chunks[3].text: at most 200 characters; got 201' },
    ]);
    expect(receiver.batches.map((batch) => batch.items.map((item) => item.chunkId))).toEqual([[1]]);
  });

  it('applies no request limit to the sender’s own batches', async () => {
    const { outcomes } = await service(null).embedAndDeliver(request([chunk(1, 'x'.repeat(201))]));
    expect(statuses(outcomes)).toEqual([[1, 'delivered']]);
  });

  it('tells a retry that counts an attempt (a 5xx of the chunk alone) from an unavailable receiver', async () => {
    receiver.failing.set(8, new DeliveryError(DeliveryErrorCode.RetryLater, 'receiver answered 503'));
    receiver.failing.set(9, new DeliveryError(DeliveryErrorCode.Failed, 'receiver answered 500'));
    const chunks = [chunk(1, 'a text', 8), chunk(2, 'b text', 9)];
    const { outcomes, unusedTokens } = await service(null).embedAndDeliver(request(chunks));
    expect(chunks.map((item) => outcomes.get(item))).toEqual([
      { status: 'retry', error: 'receiver answered 503', countsAttempt: false },
      { status: 'retry', error: 'receiver answered 500', countsAttempt: true },
    ]);
    expect(unusedTokens).toBe((await model.countTokens(['a text', 'b text'])).reduce((a, b) => a + b));
  });

  it('sends nothing for a task that closed meanwhile, and settles each task as it goes', async () => {
    const chunks = [chunk(1, 'open task', 7), chunk(2, 'closed task', 8)];
    const settled: [number[], boolean][] = [];
    const { outcomes } = await service(null).embedAndDeliver(request(chunks), {
      whileOpen: async (taskId, deliver) => (taskId === 8 ? false : (await deliver(), true)),
      settled: (items, _outcomes, closed) => settled.push([items.map((item) => item.chunkId), closed]),
    });
    expect(receiver.batches.map((batch) => batch.taskId)).toEqual([7]);
    expect(settled).toEqual([
      [[1], false],
      [[2], true],
    ]);
    expect(statuses(outcomes)).toEqual([[1, 'delivered']]);
  });

  it('reports what was delivered and its tokens when a later task’s delivery breaks', async () => {
    const chunks = [chunk(1, 'first task', 7), chunk(2, 'second task', 8)];
    const charged: number[] = [];
    const delivery = service(null).embedAndDeliver(request(chunks), {
      whileOpen: async (taskId, deliver) => {
        if (taskId === 8) throw new Error('database gone');
        await deliver();
        return true;
      },
      charged: ({ byItem }) => charged.push(...[...byItem.keys()].map((item) => item.chunkId)),
    });
    await expect(delivery).rejects.toThrow('database gone');
    expect(charged).toEqual([1]);
  });
});
