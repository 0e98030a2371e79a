import { InferenceSession } from 'onnxruntime-node';
import { OnnxModel } from '../../src/embedding/providers/onnx/onnx-model';
import { BatchLimits } from '../../src/embedding/providers/onnx/token-batches';
import { RawSession } from '../embedding/raw-session';
import { makeCorpus } from '../lib/corpus';
import { Contender, perRoundRatio, timeInterleaved } from '../lib/interleave';
import type { ModelSetup } from './index';

export interface SweepVariant {
  name: string;
  chunksPerSecond: number;
  /** Median of each round's rate ÷ the first variant's (the service as configured). */
  ratio: number;
}

export interface Sweep {
  title: string;
  model: string;
  texts: number;
  variants: SweepVariant[];
}

/** Session options tried over the service's own (onnx-session.ts): each one change from it. */
const SESSION_VARIANTS: { name: string; options?: InferenceSession.SessionOptions }[] = [
  { name: 'service: intra-op = cores, spinning off, arena on, memory pattern off, all optimisations' },
  {
    name: 'thread spinning on',
    options: { extra: { session: { intra_op: { allow_spinning: '1' }, inter_op: { allow_spinning: '1' } } } },
  },
  { name: 'memory arena off', options: { enableCpuMemArena: false } },
  { name: 'memory pattern on', options: { enableMemPattern: true } },
  { name: 'graph optimisation: extended', options: { graphOptimizationLevel: 'extended' } },
  { name: 'graph optimisation: basic', options: { graphOptimizationLevel: 'basic' } },
  { name: 'intra-op threads: 1', options: { intraOpNumThreads: 1 } },
  { name: 'parallel execution, inter-op threads: 2', options: { executionMode: 'parallel', interOpNumThreads: 2 } },
];

/** Batch limits tried over the service's (config/defaults.env), on texts of mixed lengths. */
const LIMIT_VARIANTS: BatchLimits[] = [
  { maxBatchTokens: 2048, maxBatchSize: 8 },
  { maxBatchTokens: 4096, maxBatchSize: 16 },
  { maxBatchTokens: 16384, maxBatchSize: 64 },
];

/** The embedding part's mix: 5 to 180 words, from a few tokens to past the 256-token limit. */
const MIXED = { minWords: 5, maxWords: 180, seed: 20240611 };
const MEDIUM = { minWords: 80, maxWords: 120, seed: 20240612 };

/** Spending the gap: settings measured side by side against the service's own, `rounds` interleaved rounds each. */
export async function runSweeps(
  models: ModelSetup[],
  limits: BatchLimits,
  rounds: number,
  log: (line: string) => void,
): Promise<Sweep[]> {
  const sweeps: Sweep[] = [];
  for (const model of models) {
    const texts = makeCorpus({ ...MEDIUM, texts: Math.round(model.tokens / 2 / 152) });
    sweeps.push(await sessionSweep({ model, texts, limits, rounds, log }));
  }
  const minilm = models.find((model) => model.size === 'minilm');
  if (minilm) {
    const mixed = makeCorpus({ ...MIXED, texts: Math.round(minilm.tokens / 140) });
    sweeps.push(await limitsSweep({ model: minilm, texts: mixed, limits, rounds, log }));
    sweeps.push(await bucketingSweep({ model: minilm, texts: mixed, limits, rounds, log }));
  }
  return sweeps;
}

async function sessionSweep(input: SweepInput): Promise<Sweep> {
  const { model, texts, limits } = input;
  const sessions = await Promise.all(
    SESSION_VARIANTS.map(({ options }) => RawSession.open(model.dir, { overrides: options })),
  );
  try {
    const batches = await sessions[0].prepareBatches(texts, limits);
    const contenders = SESSION_VARIANTS.map(({ name }, index) => ({
      name,
      warmUp: () => sessions[index].runAll(batches.slice(0, 2)),
      run: () => sessions[index].runAll(batches),
    }));
    return await sweep(`session options: session.run, ${model.size} medium texts`, input, contenders);
  } finally {
    await Promise.all(sessions.map((session) => session.release()));
  }
}

async function limitsSweep(input: SweepInput): Promise<Sweep> {
  const { model, texts, limits } = input;
  const variants = [limits, ...LIMIT_VARIANTS];
  const providers = variants.map((variant) => new OnnxModel({ id: model.size, path: model.dir }, { ...variant }));
  for (const provider of providers) await provider.load();
  try {
    const contenders = variants.map((variant, index) => ({
      name: `${variant === limits ? 'service: ' : ''}${variant.maxBatchTokens} tokens / ${variant.maxBatchSize} texts`,
      warmUp: async () => void (await providers[index].embed(texts.slice(0, 16))),
      run: async () => void (await providers[index].embed(texts)),
    }));
    return await sweep('batch limits: provider.embed, minilm mixed lengths', input, contenders);
  } finally {
    await Promise.all(providers.map((provider) => provider.close()));
  }
}

/** The provider's length-sorted plan against batches of the same size in arrival order (no bucketing). */
async function bucketingSweep(input: SweepInput): Promise<Sweep> {
  const { model, texts, limits } = input;
  const raw = await RawSession.open(model.dir);
  try {
    const planned = await raw.prepareBatches(texts, limits);
    const unsorted = await raw.prepareUnsorted(texts, limits.maxBatchSize);
    const contenders = [
      {
        name: 'service: length-sorted plan',
        warmUp: () => raw.runAll(planned.slice(0, 1)),
        run: () => raw.runAll(planned),
      },
      {
        name: `arrival order, ${limits.maxBatchSize} per batch`,
        warmUp: () => raw.runAll(unsorted.slice(0, 1)),
        run: () => raw.runAll(unsorted),
      },
    ];
    return await sweep('length bucketing: session.run, minilm mixed lengths', input, contenders);
  } finally {
    await raw.release();
  }
}

interface SweepInput {
  model: ModelSetup;
  texts: string[];
  limits: BatchLimits;
  rounds: number;
  log: (line: string) => void;
}

async function sweep(title: string, input: SweepInput, contenders: Contender[]): Promise<Sweep> {
  const { texts, rounds, log } = input;
  log(`${title} (${texts.length} texts, ${contenders.length} variants)`);
  const timings = await timeInterleaved(contenders, { rounds });
  const variants = timings.map(({ name, samples, medianSeconds }) => ({
    name,
    chunksPerSecond: texts.length / medianSeconds,
    ratio: perRoundRatio(samples, timings[0].samples),
  }));
  variants.forEach((v) =>
    log(`  ${v.name.padEnd(70)} ${v.chunksPerSecond.toFixed(1)} texts/s, × ${v.ratio.toFixed(3)}`),
  );
  return { title, model: input.model.size, texts: texts.length, variants };
}
