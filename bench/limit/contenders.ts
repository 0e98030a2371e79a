import { Tensor } from 'onnxruntime-node';
import { allEmbedded } from '../../src/embedding/providers/embedding-model';
import { OnnxModel } from '../../src/embedding/providers/onnx/onnx-model';
import { BatchLimits } from '../../src/embedding/providers/onnx/token-batches';
import { RawSession } from '../embedding/raw-session';
import { postJson } from '../lib/post-json';
import { secondsSince, sum } from '../lib/stats';
import { SqlFeed } from '../pipeline/sql-feed';
import { StageTotals, scrapeStages, stagesBetween } from '../pipeline/stage-metrics';
import { EncoderShape, paddedFlops } from './flops';

/** One timed pass over a round's texts, with what each stage of it cost where the contender can tell. */
export interface PassTiming {
  seconds: number;
  /** FLOPs of the padded batches onnxruntime ran (where known). */
  paddedFlops?: number;
  /** Seconds in session.run, summed over batches. */
  runSeconds?: number;
  tokenizeSeconds?: number;
  /** This process's CPU seconds over the pass (set by the case runner). */
  cpuSeconds?: number;
  /** The app's stage sums over the pass (pipeline only). */
  stages?: StageTotals;
}

export interface LimitContender {
  name: string;
  pass(texts: string[], round: number): Promise<PassTiming>;
}

/** onnxruntime alone on the provider's batches; tokenising, planning and padding happen before the clock starts. */
export function rawContender(raw: RawSession, limits: BatchLimits, shape: EncoderShape): LimitContender {
  return {
    name: 'session.run',
    pass: async (texts) => {
      const batches = await raw.prepareBatches(texts, limits);
      const started = performance.now();
      await raw.runAll(batches);
      const seconds = secondsSince(started);
      const flops = sum(batches.map(({ input_ids }) => feedFlops(shape, input_ids)));
      return { seconds, paddedFlops: flops, runSeconds: seconds };
    },
  };
}

function feedFlops(shape: EncoderShape, ids: Tensor): number {
  const [texts, sequenceLength] = ids.dims;
  return paddedFlops(shape, texts, sequenceLength);
}

/** Stage costs the provider reports (its metrics hook), summed per pass. */
export class StageTally {
  tokenizeSeconds = 0;
  runSeconds = 0;
  paddedFlops = 0;

  constructor(private readonly shape: EncoderShape) {}

  reset(): void {
    this.tokenizeSeconds = this.runSeconds = this.paddedFlops = 0;
  }

  observe = (stats: { stage: string; texts: number; seconds: number; paddedTokens?: number }): void => {
    if (stats.stage === 'tokenize') this.tokenizeSeconds += stats.seconds;
    if (stats.stage !== 'inference') return;
    this.runSeconds += stats.seconds;
    this.paddedFlops += paddedFlops(this.shape, stats.texts, stats.paddedTokens! / stats.texts);
  };
}

/** provider.embed on the whole round in one call, as the sender calls it with a batch of chunks. */
export function providerContender(name: string, provider: OnnxModel, tally: StageTally): LimitContender {
  return {
    name,
    pass: async (texts) => {
      tally.reset();
      const started = performance.now();
      const vectors = allEmbedded(await provider.embed(texts));
      const seconds = secondsSince(started);
      if (vectors.length !== texts.length) throw new Error(`${name}: ${vectors.length} vectors for ${texts.length}`);
      const { tokenizeSeconds, runSeconds, paddedFlops: flops } = tally;
      return { seconds, tokenizeSeconds, runSeconds, paddedFlops: flops };
    },
  };
}

/** One POST /v1/embeddings of the round's texts (base64, as OpenAI's SDKs ask), answer read whole. */
export function httpContender(baseUrl: string, model: string): LimitContender {
  return {
    name: 'POST /v1/embeddings',
    pass: async (texts) => {
      const started = performance.now();
      const answer = await postJson<{ data: unknown[] }>(`${baseUrl}/v1/embeddings`, {
        model,
        input: texts,
        encoding_format: 'base64',
      });
      if (answer.data.length !== texts.length) throw new Error(`HTTP: ${answer.data.length} for ${texts.length}`);
      return { seconds: secondsSince(started) };
    },
  };
}

/** A task of the round's texts fed by SQL, from its commit to its finished_at (database clock). */
export function pipelineContender(baseUrl: string, feed: SqlFeed, model: string): LimitContender {
  return {
    name: 'pipeline (SQL task)',
    pass: async (texts, round) => {
      const before = await scrapeStages(baseUrl);
      const fed = await feed.insertTask(`bench limit ${model} ${round}`, model, texts);
      const finished = await feed.waitFinished(fed.taskId, 600_000);
      if (finished.status !== 'completed' || finished.done !== texts.length) {
        throw new Error(`task ${fed.taskId} ${finished.status}, ${finished.done} of ${texts.length} done`);
      }
      const stages = stagesBetween(before, await scrapeStages(baseUrl));
      return {
        seconds: finished.finishedAt - fed.committedAt,
        tokenizeSeconds: stages.tokenize?.seconds,
        runSeconds: stages.inference?.seconds,
        stages,
      };
    },
  };
}
