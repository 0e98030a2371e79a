import { EmbeddingStageStats } from '../../../metrics/metrics.service';
import { OnnxEmbeddingProvider } from './onnx-embedding-provider';
import { ensureModel } from '../../../../test/fixtures/model/make-model';

describe('OnnxEmbeddingModel stage reports (the provider’s onStage metrics hook)', () => {
  const stats: EmbeddingStageStats[] = [];
  let provider: OnnxEmbeddingProvider;

  beforeAll(async () => {
    const path = await ensureModel('tiny');
    provider = new OnnxEmbeddingProvider({
      models: [{ id: 'tiny', path }],
      intraOpNumThreads: 1,
      maxBatchSize: 2,
      onStage: (step) => stats.push(step),
    });
    await provider.init();
  });
  afterAll(() => provider.close());

  it('does not report the warm-up', () => {
    expect(stats).toEqual([]);
  });

  it('reports one tokenisation per call and each inference batch with its padded tokens', async () => {
    const texts = ['one', 'two words', 'three words here', 'a much longer text with many more words in it', 'five'];
    const { tokenCounts } = await provider.embed('tiny', texts);
    const [tokenize, ...batches] = stats;
    expect(tokenize).toEqual({ stage: 'tokenize', model: 'tiny', texts: 5, seconds: expect.any(Number) });
    expect(batches.length).toBeGreaterThanOrEqual(3);
    expect(batches.every((batch) => batch.stage === 'inference' && batch.model === 'tiny' && batch.seconds >= 0)).toBe(
      true,
    );
    expect(batches.reduce((sum, batch) => sum + batch.texts, 0)).toBe(5);
    // Batches are planned longest first: the first holds the longest text, padded to its length.
    const longest = Math.max(...tokenCounts!);
    expect(batches[0]).toMatchObject({ paddedTokens: batches[0].texts * longest });
  });
});
