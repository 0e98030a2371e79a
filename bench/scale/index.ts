import { availableParallelism, cpus } from 'node:os';
import { Client } from 'pg';
import { ensureModel } from '../../test/fixtures/model/make-model';
import { BenchApp, startBenchApp } from '../lib/bench-app';
import { BenchOptions, BenchPart } from '../lib/part';
import { saveResults } from '../lib/results';
import { secondsSince } from '../lib/stats';
import { addDoneTask, addPendingTask, buildHistory, connect, createDatabases, historyShape, linkAt } from './databases';
import { measureContention } from './contention';
import { runExport, timeClaims, timeRequests, timeSlowRequest } from './measure';
import { runPipelineRounds, sideName } from './pipeline-rounds';
import { printReport, ScaleResults, targetsOf } from './report';
import { claimPathSizes, contentHashIndexEffect, relationSizes, vectorSizes } from './sizes';

/** A model no sender serves: the claim timing takes its links with the claim statement alone. */
const CLAIM_MODEL = 'bench-claim';

export const scalePart: BenchPart = {
  name: 'scale',
  description:
    'empty database vs 1M and 10M done links + 20,000 finished tasks, interleaved pipeline rounds with PostgreSQL ' +
    'counters; claim, API, export, sizes',
  run: runScaleBench,
};

/**
 * Databases side by side on one server: "small" (empty, then 10k done links) and one "history" per BENCH_SCALE_LINKS
 * size (that many done links in one finished task, 20,000 finished tasks of 5 links, ANALYZE, then the bulk load's
 * VACUUM and CHECKPOINT unless BENCH_SCALE_SETTLE=0; every fresh task is inserted after it, so its statistics are
 * stale). The pipeline runs on every side in interleaved rounds; the other figures compare small with the largest
 * history, each measured on both in turn and printed as a ratio.
 */
async function runScaleBench(options: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const log = (line: string) => console.log(line);
  const shape = historyShape(process.env);
  const pipelineChunks = options.texts ?? 100_000;
  const rounds = options.rounds ?? 3;
  const maxRounds = Number(process.env.BENCH_SCALE_MAX_ROUNDS || rounds * 2);
  const settle = process.env.BENCH_SCALE_SETTLE !== '0';
  const requests = options.requests ?? 200;
  log(
    `\n== scale: history of ${shape.links} done links + ${shape.tasks} finished tasks; pipeline ${pipelineChunks} chunks ==`,
  );
  const model = await ensureModel('tiny');
  const databases = await createDatabases(options.databaseUrl, shape.sides, log);
  const small = await connect(databases.small, 'small');
  const history = await connect(databases.history, 'history');
  const apps: BenchApp[] = [];
  try {
    for (const links of shape.sides.slice(0, -1)) {
      const client = await connect(databases.histories.get(links)!, `history-${links}`);
      await buildHistory(client, { ...shape, links, vectors: Math.min(links, shape.vectors) }, log, settle).finally(
        () => client.end(),
      );
    }
    const bigTask = await buildHistory(history, shape, log, settle);

    log('claim statement: a fresh 20,000-link task on each side (statistics stale on the history side)');
    for (const client of [small, history]) await addPendingTask(client, CLAIM_MODEL, 20_000, 'claim bench');
    const claim = await timeClaims(small, history, { claims: 50, batchSize: 256, model: CLAIM_MODEL });

    const sides = [{ name: 'empty', url: databases.small }].concat(
      shape.sides.map((links) => ({ name: sideName(links), url: databases.histories.get(links)! })),
    );
    for (const { url } of sides) {
      apps.push(await startBenchApp({ env: { EMBEDDING_MODELS: `tiny=${model}` }, databaseUrl: url, log }));
    }
    const plan = { chunks: pipelineChunks, rounds, maxRounds, spread: 0.1 };
    const pipeline = await runPipelineRounds(
      sides.map((side, index) => ({ ...side, app: apps[index] })),
      plan,
      log,
    );
    // The API comparison takes the empty side and the largest history; the sides between are done.
    for (const app of apps.splice(1, apps.length - 2)) await app.close();

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
      settled: settle,
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
