import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source.options';
import { SenderRepository } from '../../src/sender/sender.repository';
import { addPendingTask } from './databases';

export interface ContentionRun {
  workers: number;
  batchSize: number;
  seconds: number;
  /** Links claimed and marked done per second, all workers together. */
  sharedTaskLinksPerSecond: number;
  separateTasksLinksPerSecond: number;
}

/**
 * What sharing one task's counter row costs: `workers` loops of claim + markDone (the sender's own repository, no
 * embedding in between, so the database is all there is) on one shared task, then on one task per worker (each of
 * its own model, so no two workers ever touch the same task row). Every claim and settle of a task updates its row;
 * the shared run serializes on it, from the trigger's update to the commit.
 */
export async function measureContention(
  url: string,
  client: Client,
  options: { workers: number; batchSize: number; seconds: number },
): Promise<ContentionRun> {
  const { workers, batchSize, seconds } = options;
  const dataSource = await new DataSource({ ...dataSourceOptions({ url }), extra: { max: workers + 2 } }).initialize();
  const repository = new SenderRepository(dataSource);
  const linksPerTask = 400_000;
  try {
    await addPendingTask(client, 'contention-shared', linksPerTask, 'contention shared');
    for (let w = 0; w < workers; w++)
      await addPendingTask(client, `contention-${w}`, linksPerTask / workers, `contention ${w}`);
    const run = async (models: (worker: number) => string[]) => {
      const deadline = performance.now() + seconds * 1000;
      const counts = await Promise.all(
        Array.from({ length: workers }, async (_, worker) => {
          let links = 0;
          const owner = `contention-${worker}`;
          while (performance.now() < deadline) {
            const batch = await repository.claim({ owner, models: models(worker), batchSize, leaseSeconds: 300 });
            if (!batch) break;
            links += await repository.markDone(
              owner,
              batch.items.map((item) => item.linkId),
            );
          }
          return links;
        }),
      );
      repository.takeFinished();
      return counts.reduce((a, b) => a + b, 0) / seconds;
    };
    const shared = await run(() => ['contention-shared']);
    const separate = await run((worker) => [`contention-${worker}`]);
    return { workers, batchSize, seconds, sharedTaskLinksPerSecond: shared, separateTasksLinksPerSecond: separate };
  } finally {
    await dataSource.destroy();
  }
}
