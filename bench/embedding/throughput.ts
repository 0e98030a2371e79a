import { OnnxEmbeddingProvider } from '../../src/embedding/onnx-embedding-provider';
import { BatchLimits } from '../../src/embedding/token-batches';
import { Contender, timeInterleaved } from '../lib/interleave';
import { RawSession } from './raw-session';
import { loadTransformersJsPipeline, TransformersJsSetup } from './transformers-js';

export const MODEL_ID = 'minilm';

export interface ThroughputInput {
  modelDir: string;
  corpus: string[];
  /** The service's batch limits (config/defaults.env), used by every contender. */
  limits: BatchLimits;
  rounds: number;
  raw: RawSession;
  /** Texts each contender warms up on. */
  warmUpTexts: string[];
  log: (line: string) => void;
}

export interface ThroughputFigure {
  name: string;
  label: string;
  samplesSeconds: number[];
  medianSeconds: number;
  /** From the median run. */
  chunksPerSecond: number;
  /** From the fastest run. */
  bestChunksPerSecond: number;
}

export interface ThroughputResult {
  figures: ThroughputFigure[];
  transformersJs: { sessionOptions: Record<string, string | number>; dtype: string; maxLength: string };
}

const LABELS: Record<string, string> = {
  provider: 'provider.embed (batch path)',
  raw: 'raw session.run (ceiling)',
  transformersJs: 'transformers.js pipeline',
};

/** The three batch paths over one corpus, interleaved; each run embeds every text once. */
export async function measureThroughput(input: ThroughputInput): Promise<ThroughputResult> {
  const { modelDir, corpus, limits, rounds, log } = input;
  // Defaults except the batch limits, given explicitly so they are the service's and match the other contenders.
  const provider = new OnnxEmbeddingProvider({ models: [{ id: MODEL_ID, path: modelDir }], ...limits });
  await provider.init();
  const transformersJs = await loadTransformersJsPipeline(modelDir, input.raw.maxLength);
  try {
    const contenders = await contendersFor(input, provider, transformersJs);
    const timings = await timeInterleaved(contenders, rounds, (name, round, seconds) =>
      log(`  round ${round + 1}/${rounds}  ${LABELS[name].padEnd(30)} ${seconds.toFixed(2)} s`),
    );
    const figures = timings.map(({ name, samples, medianSeconds, bestSeconds }) => ({
      name,
      label: LABELS[name],
      samplesSeconds: samples,
      medianSeconds,
      chunksPerSecond: corpus.length / medianSeconds,
      bestChunksPerSecond: corpus.length / bestSeconds,
    }));
    const { sessionOptions, dtype, maxLength, configuredMaxLength } = transformersJs;
    const maxLengthNote = `${maxLength} (tokenizer's model_max_length ${configuredMaxLength} overridden)`;
    return { figures, transformersJs: { sessionOptions, dtype, maxLength: maxLengthNote } };
  } finally {
    await provider.close();
    await transformersJs.dispose();
  }
}

async function contendersFor(
  { corpus, limits, raw, warmUpTexts }: ThroughputInput,
  provider: OnnxEmbeddingProvider,
  transformersJs: TransformersJsSetup,
): Promise<Contender[]> {
  // Tokenised, planned and padded now: the raw contender times session.run alone.
  const rawBatches = await raw.prepareBatches(corpus, limits);
  const rawWarmUp = await raw.prepareBatches(warmUpTexts, limits);
  const inCorpusOrder = chunk(corpus, limits.maxBatchSize);
  return [
    {
      name: 'provider',
      warmUp: async () => void (await provider.embed(MODEL_ID, warmUpTexts)),
      run: async () => void (await provider.embed(MODEL_ID, corpus)),
    },
    { name: 'raw', warmUp: () => raw.runAll(rawWarmUp), run: () => raw.runAll(rawBatches) },
    {
      name: 'transformersJs',
      warmUp: () => transformersJs.embed(warmUpTexts),
      run: async () => {
        for (const batch of inCorpusOrder) {
          await transformersJs.embed(batch);
        }
      },
    },
  ];
}

export function chunk<T>(values: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(values.length / size) }, (_, index) =>
    values.slice(index * size, (index + 1) * size),
  );
}
