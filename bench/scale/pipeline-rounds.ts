import { Client } from 'pg';
import { BenchApp } from '../lib/bench-app';
import { makeCorpus } from '../lib/corpus';
import { median } from '../lib/stats';
import { scrapeStages, stagesBetween } from '../pipeline/stage-metrics';
import { SqlFeed } from '../pipeline/sql-feed';
import { countersBetween, PgCounters, readCounters, sampleBackground } from './pg-activity';

export interface ScaleSide {
  /** "empty", "1M", "10M". */
  name: string;
  url: string;
  app: BenchApp;
}

export interface PipelineRun {
  side: string;
  round: number;
  chunks: number;
  seconds: number;
  chunksPerSecond: number;
  status: string;
  /** The app's claim stage over the run: mean seconds per claim, and how many claims. */
  claimMeanMs: number;
  claims: number;
  /** Seconds summed per stage over the run (stages overlap: several batches are in flight). */
  stageSeconds: Record<string, number>;
  /** What PostgreSQL did meanwhile. */
  counters: PgCounters;
  /** Polls of pg_stat_activity that saw autovacuum or a checkpoint at work, of `polls`. */
  background: { polls: number; seen: Record<string, number> };
}

export interface RoundsPlan {
  chunks: number;
  /** Rounds always run. */
  rounds: number;
  /** More rounds, up to this, while the largest side's ratio to empty spreads over more than `spread`. */
  maxRounds: number;
  spread: number;
}

/**
 * The same fresh task (same texts) through each side's app in turn, round after round, the order rotating (empty,
 * 1M, 10M; then 1M, 10M, empty; …), each timed from its commit to its finished_at. Each history side is compared with
 * the empty side of the same round. Rounds go on past `rounds` while the largest side's ratios still spread widely.
 */
export async function runPipelineRounds(
  sides: ScaleSide[],
  plan: RoundsPlan,
  log: (line: string) => void,
): Promise<PipelineRun[]> {
  const feeds = await Promise.all(sides.map((side) => SqlFeed.connect(side.url)));
  const clients = await Promise.all(sides.map((side) => connectTo(side.url)));
  try {
    for (const [index, feed] of feeds.entries()) {
      const fed = await feed.insertTask('warm-up', 'tiny', texts(2_000, -1));
      await feed.waitFinished(fed.taskId, 600_000);
      log(`  pipeline warm-up done on ${sides[index].name}`);
    }
    const runs: PipelineRun[] = [];
    for (let round = 0; round < plan.maxRounds; round++) {
      if (round >= plan.rounds && spreadOf(runs, sides) <= plan.spread) break;
      const corpus = texts(plan.chunks, round);
      for (let turn = 0; turn < sides.length; turn++) {
        const index = (turn + round) % sides.length;
        runs.push(await runOnce(sides[index], feeds[index], clients[index], corpus, round));
        const run = runs[runs.length - 1];
        log(
          `  round ${round + 1} ${run.side}: ${Math.round(run.chunksPerSecond)} chunks/s (${run.status}); ` +
            `WAL ${(run.counters.walBytes / 2 ** 20).toFixed(0)} MiB, blocks read ${run.counters.blocksRead}, ` +
            `background ${JSON.stringify(run.background.seen)}`,
        );
      }
    }
    return runs;
  } finally {
    for (const feed of feeds) await feed.close();
    for (const client of clients) await client.end();
  }
}

async function runOnce(
  side: ScaleSide,
  feed: SqlFeed,
  client: Client,
  corpus: string[],
  round: number,
): Promise<PipelineRun> {
  const before = await scrapeStages(side.app.baseUrl);
  const countersBefore = await readCounters(client);
  const stopSampling = sampleBackground(client);
  const fed = await feed.insertTask(`scale ${round}`, 'tiny', corpus);
  const finished = await feed.waitFinished(fed.taskId, 3_600_000);
  const background = await stopSampling();
  const counters = countersBetween(countersBefore, await readCounters(client));
  const seconds = finished.finishedAt - fed.committedAt;
  const stages = stagesBetween(before, await scrapeStages(side.app.baseUrl));
  return {
    side: side.name,
    round,
    chunks: corpus.length,
    seconds,
    chunksPerSecond: corpus.length / seconds,
    status: finished.status,
    claimMeanMs: stages.claim ? (stages.claim.seconds / stages.claim.count) * 1000 : NaN,
    claims: stages.claim?.count ?? 0,
    stageSeconds: Object.fromEntries(Object.entries(stages).map(([stage, totals]) => [stage, totals.seconds])),
    counters,
    background,
  };
}

/** Each round's rate of `side` ÷ the empty side's in the same round. */
export function ratiosByRound(runs: PipelineRun[], side: string, empty = 'empty'): number[] {
  const rounds = [...new Set(runs.map((run) => run.round))];
  return rounds.flatMap((round) => {
    const rate = (name: string) => runs.find((run) => run.round === round && run.side === name)?.chunksPerSecond;
    const [mine, base] = [rate(side), rate(empty)];
    return mine && base ? [mine / base] : [];
  });
}

/** 1000000 → "1M", 500000 → "500k". */
export function sideName(links: number): string {
  return links >= 1e6 ? `${links / 1e6}M` : links >= 1e3 ? `${links / 1e3}k` : String(links);
}

export function medianRatio(runs: PipelineRun[], side: string): number {
  return median(ratiosByRound(runs, side));
}

function spreadOf(runs: PipelineRun[], sides: ScaleSide[]): number {
  const ratios = ratiosByRound(runs, sides[sides.length - 1].name);
  return ratios.length < 2 ? Infinity : Math.max(...ratios) - Math.min(...ratios);
}

async function connectTo(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: 'bench-scale-observer' });
  await client.connect();
  return client;
}

/** Unique texts of the pipeline bench's shape (5 to 180 words), the same on every side of a round. */
function texts(count: number, round: number): string[] {
  return makeCorpus({ texts: count, minWords: 5, maxWords: 180, seed: 4242 + round }).map(
    (text, i) => `${round}.${i} ${text}`,
  );
}
