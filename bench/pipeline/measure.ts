import { allEmbedded } from '../../src/embedding/providers/embedding-model';
import { OnnxModel } from '../../src/embedding/providers/onnx/onnx-model';
import { secondsSince } from '../lib/stats';
import { SqlFeed } from './sql-feed';
import { scrapeStages, StageTotals, stagesBetween } from './stage-metrics';

export interface PipelineRun {
  taskId: number;
  chunks: number;
  /** From the insert's commit to the task's finished_at, both on the database's clock. */
  seconds: number;
  /** From the insert's commit to the start of the claim that first took the task's links (database clock). */
  wakeSeconds: number;
  /** The same span on this process's clock, up to the poll that saw the task finished (≤ 10 ms late). */
  wallSeconds: number;
  chunksPerSecond: number;
  status: string;
  done: number;
  failed: number;
  storedVectors: number;
  /** The app's stage histogram over this run. */
  stages: StageTotals;
}

export interface ProviderRun {
  chunks: number;
  seconds: number;
  chunksPerSecond: number;
}

export interface Round {
  pipeline: PipelineRun;
  provider: ProviderRun;
}

export interface Contenders {
  baseUrl: string;
  feed: SqlFeed;
  provider: OnnxModel;
  model: string;
}

/** One task of these texts through the running app: SQL insert, then wait for the task to finish. */
export async function runPipeline(
  { baseUrl, feed, model }: Contenders,
  texts: string[],
  name: string,
): Promise<PipelineRun> {
  const before = await scrapeStages(baseUrl);
  const fed = await feed.insertTask(name, model, texts);
  const finished = await feed.waitFinished(fed.taskId, 120_000 + texts.length * 1000);
  const seconds = finished.finishedAt - fed.committedAt;
  const stages = stagesBetween(before, await scrapeStages(baseUrl));
  return {
    taskId: fed.taskId,
    chunks: texts.length,
    seconds,
    wakeSeconds: finished.startedAt - fed.committedAt,
    wallSeconds: (finished.seenPerf - fed.committedPerf) / 1000,
    chunksPerSecond: texts.length / seconds,
    status: finished.status,
    done: finished.done,
    failed: finished.failed,
    storedVectors: await feed.storedVectors(fed.taskId, model),
    stages,
  };
}

/** The provider alone on the same texts: one embed call, which batches them under the same limits. */
export async function runProvider({ provider }: Contenders, texts: string[]): Promise<ProviderRun> {
  const started = performance.now();
  const vectors = allEmbedded(await provider.embed(texts));
  const seconds = secondsSince(started);
  if (vectors.length !== texts.length)
    throw new Error(`provider returned ${vectors.length} vectors for ${texts.length}`);
  return { chunks: texts.length, seconds, chunksPerSecond: texts.length / seconds };
}

/**
 * `rounds` rounds, each over a fresh corpus (new texts, so no vector is reused by content hash), both contenders on
 * the same texts; the order alternates round by round so a slow phase of the machine falls on both alike.
 */
export async function runRounds(
  contenders: Contenders,
  corpusOf: (round: number) => string[],
  rounds: number,
  log: (line: string) => void,
): Promise<Round[]> {
  const results: Round[] = [];
  for (let round = 0; round < rounds; round++) {
    const texts = corpusOf(round);
    let pipeline: PipelineRun | undefined;
    let provider: ProviderRun | undefined;
    const runs = [
      async () => (pipeline = await runPipeline(contenders, texts, `bench ${contenders.model} round ${round + 1}`)),
      async () => (provider = await runProvider(contenders, texts)),
    ];
    for (const run of round % 2 === 0 ? runs : runs.reverse()) {
      collectGarbage();
      await run();
    }
    results.push({ pipeline: pipeline!, provider: provider! });
    log(
      `  round ${round + 1}/${rounds}  pipeline ${pipeline!.chunksPerSecond.toFixed(1)} chunks/s ` +
        `(${pipeline!.seconds.toFixed(2)} s, ${pipeline!.status})  provider alone ` +
        `${provider!.chunksPerSecond.toFixed(1)} chunks/s (${provider!.seconds.toFixed(2)} s)`,
    );
  }
  return results;
}

/** With --expose-gc (npm run bench sets it): the previous contender's garbage is not collected on the next's time. */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
