import { OnnxModel } from '../../src/embedding/providers/onnx/onnx-model';
import { BatchLimits } from '../../src/embedding/providers/onnx/token-batches';
import { chunk } from '../lib/chunk';
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
  /** Texts per provider.embed call: the corpus is embedded call by call, contenders taking turns at each. */
  callSize: number;
  raw: RawSession;
  /** Texts each contender warms up on. */
  warmUpTexts: string[];
  log: (line: string) => void;
}

export interface ThroughputFigure {
  name: string;
  label: string;
  /** Per round, the whole corpus. */
  samplesSeconds: number[];
  /** Per call-sized slice the median over rounds, summed. */
  medianSeconds: number;
  chunksPerSecond: number;
  /** Per slice the fastest round, summed. */
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

/** The three batch paths over one corpus, interleaved call by call; each round embeds every text once. */
export async function measureThroughput(input: ThroughputInput): Promise<ThroughputResult> {
  const { modelDir, corpus, limits, rounds, log } = input;
  // Defaults except the batch limits, given explicitly so they are the service's and match the other contenders.
  const provider = new OnnxModel({ id: MODEL_ID, path: modelDir }, { ...limits });
  await provider.load();
  const transformersJs = await loadTransformersJsPipeline(modelDir, input.raw.maxLength);
  try {
    const contenders = await contendersFor(input, provider, transformersJs);
    const timings = await timeInterleaved(contenders, {
      rounds,
      slices: chunk(corpus, input.callSize).length,
      onRound: (name, round, seconds) =>
        log(`  round ${round + 1}/${rounds}  ${LABELS[name].padEnd(30)} ${seconds.toFixed(2)} s`),
    });
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
  { corpus, limits, callSize, raw, warmUpTexts }: ThroughputInput,
  provider: OnnxModel,
  transformersJs: TransformersJsSetup,
): Promise<Contender[]> {
  const slices = chunk(corpus, callSize);
  // Tokenised, planned and padded now: the raw contender times session.run alone.
  const rawBatches = await Promise.all(slices.map((slice) => raw.prepareBatches(slice, limits)));
  const rawWarmUp = await raw.prepareBatches(warmUpTexts, limits);
  return [
    {
      name: 'provider',
      warmUp: async () => void (await provider.embed(warmUpTexts)),
      run: async (slice) => void (await provider.embed(slices[slice])),
    },
    { name: 'raw', warmUp: () => raw.runAll(rawWarmUp), run: (slice) => raw.runAll(rawBatches[slice]) },
    {
      name: 'transformersJs',
      warmUp: () => transformersJs.embed(warmUpTexts),
      run: async (slice) => {
        for (const batch of chunk(slices[slice], limits.maxBatchSize)) {
          await transformersJs.embed(batch);
        }
      },
    },
  ];
}
