import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { allEmbedded } from '../../src/embedding/providers/embedding-model';
import { summarizeOnnxGraph } from '../../src/embedding/providers/onnx/model-files/onnx-graph-summary';
import { OnnxModel, onnxModels } from '../../src/embedding/providers/onnx/onnx-model';
import { sessionOptions } from '../../src/embedding/providers/onnx/onnx-session';
import { BatchLimits } from '../../src/embedding/providers/onnx/token-batches';
import { OnnxVariant, writeOnnxVariant } from '../../test/fixtures/model/make-model';
import { DynamicQuantization } from '../../test/fixtures/model/quantize-dynamic';
import { chunk } from '../lib/chunk';
import { Contender, timeInterleaved } from '../lib/interleave';
import { quantile } from '../lib/stats';
import { cosine } from '../../src/common/cosine';

/** One ONNX file of the model: the hub's own, or one more quantisation option written for this comparison. */
interface Variant {
  name: string;
  label: string;
  /** Relative to the model folder. */
  file: string;
  /** How to write it when the model folder does not have it. */
  make?: OnnxVariant;
}

const INT8: DynamicQuantization = { weightType: 'int8', perChannel: false, reduceRange: false, format: 'QOperator' };
const int8 = (options: Partial<DynamicQuantization>): OnnxVariant => ({
  dtype: 'int8',
  quantization: { ...INT8, ...options },
});

/**
 * fp32 and the hub's int8 file (quantize_dynamic's defaults) first; then the options that change what onnxruntime
 * runs: uint8 weights, per-channel scales, 7-bit weights (reduce_range), and the QDQ form of the same integers.
 */
export const VARIANTS: Variant[] = [
  { name: 'fp32', label: 'fp32 (model.onnx)', file: 'onnx/model.onnx' },
  { name: 'int8', label: 'int8, per tensor, QOperator (model_quantized.onnx)', file: 'onnx/model_quantized.onnx' },
  { name: 'uint8', label: 'uint8 weights, per tensor (model_uint8.onnx)', file: 'onnx/model_uint8.onnx' },
  {
    name: 'int8-per-channel',
    label: 'int8, per channel',
    file: 'onnx/bench/int8-per-channel.onnx',
    make: int8({ perChannel: true }),
  },
  {
    name: 'int8-reduce-range',
    label: 'int8, 7-bit (reduce_range)',
    file: 'onnx/bench/int8-reduce-range.onnx',
    make: int8({ reduceRange: true }),
  },
  {
    name: 'int8-qdq',
    label: 'int8, per tensor, QDQ form',
    file: 'onnx/bench/int8-qdq.onnx',
    make: int8({ format: 'QDQ' }),
  },
];

export interface QuantizationFigure {
  name: string;
  label: string;
  file: string;
  fileMiB: number;
  dtype: string;
  samplesSeconds: number[];
  medianSeconds: number;
  chunksPerSecond: number;
  bestChunksPerSecond: number;
  /** Cosine of each text's vector to its fp32 vector, over the corpus. */
  cosine: { mean: number; min: number; p01: number };
  /** Node counts of the graph onnxruntime runs after its optimisations (its fused int8 kernels among them). */
  optimizedOps: Record<string, number>;
}

export interface QuantizationResult {
  figures: QuantizationFigure[];
}

export interface QuantizationInput {
  modelDir: string;
  corpus: string[];
  limits: BatchLimits;
  rounds: number;
  callSize: number;
  warmUpTexts: string[];
  log: (line: string) => void;
}

/** Every variant through the provider, taking turns call by call like the throughput contenders. */
export async function measureQuantization(input: QuantizationInput): Promise<QuantizationResult> {
  const { modelDir, corpus, limits, rounds, callSize, warmUpTexts, log } = input;
  await writeMissingVariants(modelDir, log);
  const sources = VARIANTS.map(({ name, file }) => ({ id: name, path: modelDir, modelFile: file }));
  const models = new Map(onnxModels(sources, limits).map((model) => [model.id, model]));
  for (const model of models.values()) await model.load();
  try {
    const slices = chunk(corpus, callSize);
    const contenders: Contender[] = VARIANTS.map(({ name }) => ({
      name,
      warmUp: async () => void (await models.get(name)!.embed(warmUpTexts)),
      run: async (slice) => void (await models.get(name)!.embed(slices[slice])),
    }));
    const timings = await timeInterleaved(contenders, {
      rounds,
      slices: slices.length,
      onRound: (name, round, seconds) =>
        log(`  round ${round + 1}/${rounds}  ${name.padEnd(18)} ${seconds.toFixed(2)} s`),
    });
    const cosines = await cosinesToFp32(models, corpus);
    const figures: QuantizationFigure[] = [];
    for (const [index, variant] of VARIANTS.entries()) {
      const { samples, medianSeconds, bestSeconds } = timings[index];
      figures.push({
        name: variant.name,
        label: variant.label,
        file: variant.file,
        fileMiB: (await stat(join(modelDir, variant.file))).size / 2 ** 20,
        dtype: models.get(variant.name)!.info().dtype,
        samplesSeconds: samples,
        medianSeconds,
        chunksPerSecond: corpus.length / medianSeconds,
        bestChunksPerSecond: corpus.length / bestSeconds,
        cosine: cosines.get(variant.name)!,
        optimizedOps: await optimizedOps(join(modelDir, variant.file)),
      });
    }
    return { figures };
  } finally {
    await Promise.all([...models.values()].map((model) => model.close()));
  }
}

async function writeMissingVariants(modelDir: string, log: (line: string) => void): Promise<void> {
  for (const { file, make } of VARIANTS) {
    if (!make || existsSync(join(modelDir, file))) continue;
    log(`  writing ${file}`);
    await writeOnnxVariant('minilm', modelDir, file, make);
  }
}

async function cosinesToFp32(models: Map<string, OnnxModel>, corpus: string[]) {
  const vectors = new Map<string, Float32Array[]>();
  for (const { name } of VARIANTS) vectors.set(name, allEmbedded(await models.get(name)!.embed(corpus)));
  const reference = vectors.get('fp32')!;
  return new Map(
    [...vectors].map(([name, list]) => {
      const cosines = list.map((vector, index) => cosine(vector, reference[index]));
      const mean = cosines.reduce((total, value) => total + value, 0) / cosines.length;
      return [name, { mean, min: Math.min(...cosines), p01: quantile(cosines, 0.01) }];
    }),
  );
}

/** The graph onnxruntime runs after its graph optimisations, as it writes it out (optimizedModelFilePath). */
async function optimizedOps(path: string): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-optimized-'));
  try {
    const optimizedModelFilePath = join(dir, 'optimized.onnx');
    const options = sessionOptions({ device: 'cpu', intraOpNumThreads: availableParallelism() }, ['cpu']);
    // Errors only: onnxruntime warns that an optimised graph may be specific to this machine, which is the point.
    const session = await InferenceSession.create(path, { ...options, optimizedModelFilePath, logSeverityLevel: 3 });
    await session.release();
    return Object.fromEntries([...(await summarizeOnnxGraph(optimizedModelFilePath)).opCounts].sort());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
