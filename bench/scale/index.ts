import { availableParallelism, cpus } from 'node:os';
import { Client } from 'pg';
import { ensureModel } from '../../test/fixtures/model/make-model';
import { BenchApp, startBenchApp } from '../lib/bench-app';
import { makeCorpus } from '../lib/corpus';
import { BenchOptions, BenchPart } from '../lib/part';
import { saveResults } from '../lib/results';
import { secondsSince } from '../lib/stats';
import { scrapeStages, stagesBetween } from '../pipeline/stage-metrics';
import { SqlFeed } from '../pipeline/sql-feed';
import {
  addDoneTask,
  addPendingTask,
  buildHistory,
  connect,
  createDatabases,
  historyShape,
  linkAt,
  ScaleDatabases,
} from './databases';
import { measureContention } from './contention';
import { runExport, timeClaims, timeRequests, timeSlowRequest } from './measure';
import { PipelineRun, printReport, ScaleResults, targetsOf } from './report';
import { claimPathSizes, contentHashIndexEffect, relationSizes, vectorSizes } from './sizes';

/** A model no sender serves: the claim timing takes its links with the claim statement alone. */
const CLAIM_MODEL = 'bench-claim';

export const scalePart: BenchPart = {
  name: 'scale',
  description: 'empty/10k-link database vs 1M done links + 20,000 finished tasks: pipeline, claim, API, export, sizes',
  run: runScaleBench,
};

/**
 * Two databases side by side on one server: "small" (empty, then 10k done links) and "history" (1M done links in one
 * finished task, 20,000 finished tasks of 5 links, ANALYZE, and every fresh task inserted after it, so its statistics
 * are stale). Each figure is measured on both in turn and printed as a ratio.
 */
async function runScaleBench(options: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const log = (line: string) => console.log(line);
  const shape = historyShape(process.env);
  const pipelineChunks = options.texts ?? 100_000;
  const rounds = options.rounds ?? 1;
  const requests = options.requests ?? 200;
  log(
    `\n== scale: history of ${shape.links} done links + ${shape.tasks} finished tasks; pipeline ${pipelineChunks} chunks ==`,
  );
  const model = await ensureModel('tiny');
  const databases = await createDatabases(options.databaseUrl, log);
  const small = await connect(databases.small, 'small');
  const history = await connect(databases.history, 'history');
  const apps: BenchApp[] = [];
  try {
    const bigTask = await buildHistory(history, shape, log);

    log('claim statement: a fresh 20,000-link task on each side (statistics stale on the history side)');
    for (const client of [small, history]) await addPendingTask(client, CLAIM_MODEL, 20_000, 'claim bench');
    const claim = await timeClaims(small, history, { claims: 50, batchSize: 256, model: CLAIM_MODEL });

    for (const url of [databases.small, databases.history]) {
      apps.push(await startBenchApp({ env: { EMBEDDING_MODELS: `tiny=${model}` }, databaseUrl: url, log }));
    }
    const pipeline = await runPipelines(apps, databases, pipelineChunks, rounds, log);

    log(`API: ${requests} requests per endpoint and side, alternating (small: one finished task of 10,000 links)`);
    const smallTask = await addDoneTask(small, 10_000);
    const endpoints = [
      { name: 'GET /tasks/:id (the big task)', small: `/tasks/${smallTask}`, history: `/tasks/${bigTask}` },
      { name: 'GET /tasks?status=running', small: '/tasks?status=running', history: '/tasks?status=running' },
      { name: 'GET /tasks?limit=20', small: '/tasks?limit=20', history: '/tasks?limit=20' },
      { name: 'GET /metrics', small: '/metrics', history: '/metrics' },
    ];
    const api = await timeRequests(
      endpoints.map((e) => ({
        name: e.name,
        small: `${apps[0].baseUrl}${e.small}`,
        history: `${apps[1].baseUrl}${e.history}`,
      })),
      requests,
    );
    const deep = await deepPages(apps, small, history, smallTask, bigTask, requests);
    const offsetPage = await timeSlowRequest(
      `${apps[1].baseUrl}/tasks/${bigTask}/chunks?limit=100&offset=${Math.floor(shape.links * 0.9)}`,
      5,
    );
    for (const app of apps.splice(0)) await app.close();

    log('contention: 8 workers claiming and settling one shared task, then one task each');
    const contention = await measureContention(databases.small, small, { workers: 8, batchSize: 64, seconds: 10 });

    log(`export: ${shape.vectors} vectors of ${shape.dimensions} dimensions, service in a child process`);
    const exported = await runExport(databases.history, bigTask);

    log('sizes: VACUUM ANALYZE, then every relation; vectors by dimension; the dropped content-hash index');
    const sizes = await relationSizes(history);
    const claimPath = await claimPathSizes(history);
    const vectors = await vectorSizes(small, [384, 768, 1024]);
    const contentHash = await contentHashIndexEffect(history, 100_000);

    const results: ScaleResults = {
      part: 'scale',
      startedAt: startedAt.toISOString(),
      durationSeconds: Math.round(secondsSince(started)),
      machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
      database: databases.server,
      postgres: (await history.query('SHOW server_version')).rows[0].server_version,
      history: shape,
      pipeline,
      claim,
      api: [...api, deep],
      offsetPage,
      contention,
      export: exported,
      sizes,
      claimPath,
      vectors,
      contentHash,
      targets: [],
    };
    results.targets = targetsOf(results);
    printReport(results, await saveResults('scale', results, startedAt));
  } finally {
    for (const app of apps) await app.close();
    await small.end();
    await history.end();
    await databases.close();
  }
}

/** The same fresh task (same texts) through each side's app in turn, timed from its commit to its finished_at. */
async function runPipelines(
  apps: BenchApp[],
  databases: ScaleDatabases,
  chunks: number,
  rounds: number,
  log: (line: string) => void,
): Promise<PipelineRun[]> {
  const feeds = [await SqlFeed.connect(databases.small), await SqlFeed.connect(databases.history)];
  const sides = ['small', 'history'] as const;
  try {
    for (const [side, feed] of feeds.entries()) {
      const warmUp = texts(2_000, -1);
      const fed = await feed.insertTask('warm-up', 'tiny', warmUp);
      await feed.waitFinished(fed.taskId, 600_000);
      log(`  pipeline warm-up done on ${sides[side]}`);
    }
    const runs: PipelineRun[] = [];
    for (let round = 0; round < rounds; round++) {
      const corpus = texts(chunks, round);
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const side of order) {
        const before = await scrapeStages(apps[side].baseUrl);
        const fed = await feeds[side].insertTask(`scale ${round}`, 'tiny', corpus);
        const finished = await feeds[side].waitFinished(fed.taskId, 3_600_000);
        const seconds = finished.finishedAt - fed.committedAt;
        const stages = stagesBetween(before, await scrapeStages(apps[side].baseUrl));
        runs.push({
          side: sides[side],
          round,
          chunks,
          seconds,
          chunksPerSecond: chunks / seconds,
          status: finished.status,
          claimMeanMs: stages.claim ? (stages.claim.seconds / stages.claim.count) * 1000 : NaN,
          claims: stages.claim?.count ?? 0,
          stageSeconds: Object.fromEntries(Object.entries(stages).map(([stage, totals]) => [stage, totals.seconds])),
        });
        log(`  round ${round + 1} ${sides[side]}: ${Math.round(chunks / seconds)} chunks/s (${finished.status})`);
      }
    }
    return runs;
  } finally {
    for (const feed of feeds) await feed.close();
  }
}

/** Unique texts of the pipeline bench's shape (5 to 180 words), the same on both sides of a round. */
function texts(count: number, round: number): string[] {
  return makeCorpus({ texts: count, minWords: 5, maxWords: 180, seed: 4242 + round }).map(
    (text, i) => `${round}.${i} ${text}`,
  );
}

/** A keyset page 90 % deep into each side's big task (the cursor is a link id, so it is looked up first). */
async function deepPages(
  apps: BenchApp[],
  small: Client,
  history: Client,
  smallTask: number,
  bigTask: number,
  requests: number,
) {
  const [smallAfter, historyAfter] = [await linkAt(small, smallTask, 0.9), await linkAt(history, bigTask, 0.9)];
  const [figure] = await timeRequests(
    [
      {
        name: 'GET /tasks/:id/chunks?after= (90 % deep)',
        small: `${apps[0].baseUrl}/tasks/${smallTask}/chunks?limit=100&after=${smallAfter}`,
        history: `${apps[1].baseUrl}/tasks/${bigTask}/chunks?limit=100&after=${historyAfter}`,
      },
    ],
    requests,
  );
  return figure;
}
