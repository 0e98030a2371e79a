import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../test/database';
import { dataSourceOptions } from '../database/data-source.options';
import { COUNTS_SQL, QueueDepthRepository } from './queue-depth.repository';

describe('QueueDepthRepository (real PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let repository: QueueDepthRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(dataSourceOptions({ url: db.url })).initialize();
    repository = new QueueDepthRepository(dataSource);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  /** A task with `counts[status]` links in each status. */
  async function addLinks(counts: Record<string, number>): Promise<void> {
    const [task] = await dataSource.query(`INSERT INTO mgmt.task (name, model) VALUES ('t', 'm') RETURNING id`);
    const statuses = Object.entries(counts).flatMap(([status, n]) => Array<string>(n).fill(status));
    await dataSource.query(
      `WITH c AS (INSERT INTO mgmt.embed_chunk (text) SELECT 'chunk ' || g FROM generate_series(1, $2) g RETURNING id),
            numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM c)
       INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id, status, lease_owner, lease_expires_at)
       SELECT $1, numbered.id, s.status,
              CASE WHEN s.status = 'in_progress' THEN 'w' END, CASE WHEN s.status = 'in_progress' THEN now() END
       FROM numbered JOIN unnest($3::text[]) WITH ORDINALITY AS s(status, n) ON s.n = numbered.n`,
      [task.id, statuses.length, statuses],
    );
  }

  it('answers zeros on an empty table', async () => {
    expect(await repository.depth()).toEqual({ pending: 0, in_progress: 0, done: 0, failed: 0, doneEstimated: false });
  });

  it('counts every status exactly while the table is small', async () => {
    await addLinks({ pending: 5, in_progress: 2, done: 40, failed: 3 });
    await addLinks({ pending: 1, done: 7 });
    expect(await repository.depth()).toEqual({ pending: 6, in_progress: 2, done: 47, failed: 3, doneEstimated: false });
  });

  it('estimates done from the table statistics once counting it would cost (here: any size), the rest exact', async () => {
    await dataSource.query(`ANALYZE mgmt.embed_task_chunk`);
    const depth = await repository.depth(0);
    expect(depth).toMatchObject({ pending: 6, in_progress: 2, failed: 3, doneEstimated: true });
    // Freshly analysed, the statistics of so small a table are exact.
    expect(depth.done).toBe(47);
  });

  it('counts pending, in_progress and failed from their partial indexes, never scanning the table', async () => {
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    try {
      // The table is tiny, so a scan would be cheaper: forbid it to see which indexes the query can use.
      await runner.query(`SET enable_seqscan = off`);
      const plan = (await runner.query(`EXPLAIN ${COUNTS_SQL}`)).map(
        (row: Record<string, string>) => row['QUERY PLAN'],
      );
      const text = plan.join('\n');
      for (const index of [
        'embed_task_chunk_pending_idx',
        'embed_task_chunk_lease_idx',
        'embed_task_chunk_failed_idx',
      ]) {
        expect(text).toContain(index);
      }
      expect(text).not.toMatch(/Seq Scan on embed_task_chunk/);
    } finally {
      await runner.release();
    }
  });
});
