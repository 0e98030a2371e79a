import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../test/database';
import { dataSourceOptions } from '../database/data-source.options';
import { TaskTallyRepository, TOTALS_SQL } from './task-tally.repository';
import { BACKLOG_SQL, QueueDepthRepository } from './queue-depth.repository';

describe('QueueDepthRepository (real PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let repository: QueueDepthRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(dataSourceOptions({ url: db.url })).initialize();
    repository = new QueueDepthRepository(dataSource, new TaskTallyRepository(dataSource));
  });
  afterAll(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  /** A task of `model` with `counts[status]` links in each status, inserted by plain SQL. */
  async function addTask(counts: Record<string, number>, model = 'm'): Promise<number> {
    const [task] = await dataSource.query(`INSERT INTO mgmt.task (name, model) VALUES ('t', $1) RETURNING id`, [model]);
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
    return task.id;
  }

  async function plan(sql: string, params: unknown[] = []): Promise<string> {
    const rows = await dataSource.query(`EXPLAIN ${sql}`, params);
    return rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n');
  }

  it('answers zeros on an empty database', async () => {
    expect(await repository.depth()).toEqual({ pending: 0, in_progress: 0, done: 0, failed: 0 });
    expect(await repository.backlog(['m'])).toBe(0);
  });

  it('sums every status exactly, following inserts, updates and deletes made with plain SQL', async () => {
    const first = await addTask({ pending: 5, in_progress: 2, done: 40, failed: 3 });
    await addTask({ pending: 1, done: 7 });
    expect(await repository.depth()).toEqual({ pending: 6, in_progress: 2, done: 47, failed: 3 });
    await dataSource.query(
      `UPDATE mgmt.embed_task_chunk SET status = 'done' WHERE task_id = $1 AND status = 'pending'`,
      [first],
    );
    await dataSource.query(`DELETE FROM mgmt.embed_task_chunk WHERE task_id = $1 AND status = 'failed'`, [first]);
    expect(await repository.depth()).toEqual({ pending: 1, in_progress: 2, done: 52, failed: 0 });
  });

  it('follows tasks that close, reopen and go away', async () => {
    const before = await repository.depth();
    const id = await addTask({ pending: 2, done: 3 });
    await dataSource.query(
      `UPDATE mgmt.embed_task_chunk SET status = 'failed' WHERE task_id = $1 AND status = 'pending'`,
      [id],
    );
    expect(await repository.depth()).toEqual({ ...before, done: before.done + 3, failed: before.failed + 2 });
    await dataSource.query(
      `UPDATE mgmt.embed_task_chunk SET status = 'pending' WHERE task_id = $1 AND status = 'failed'`,
      [id],
    );
    expect(await repository.depth()).toEqual({ ...before, pending: before.pending + 2, done: before.done + 3 });
    await dataSource.query(`DELETE FROM mgmt.task WHERE id = $1`, [id]);
    expect(await repository.depth()).toEqual(before);
  });

  it('reads the open task rows and the closed-task tally, never the links or a row per closed task', async () => {
    const totals = await plan(TOTALS_SQL);
    expect(totals).not.toContain('embed_task_chunk');
    expect(totals).toContain('task_tally');
    expect(await plan(BACKLOG_SQL, [['m']])).not.toContain('embed_task_chunk');
  });

  describe('backlog (the autoscaler query)', () => {
    it('counts pending and in-progress links of open tasks of the given models only', async () => {
      const before = await repository.backlog(['m']);
      await addTask({ pending: 4, in_progress: 1, done: 9 }, 'wanted');
      await addTask({ pending: 3, failed: 2 }, 'other');
      const cancelled = await addTask({ pending: 8 }, 'wanted');
      await dataSource.query(`UPDATE mgmt.task SET status = 'cancelled' WHERE id = $1`, [cancelled]);
      await addTask({ done: 6 }, 'wanted');
      expect(await repository.backlog(['wanted'])).toBe(5);
      expect(await repository.backlog(['wanted', 'other'])).toBe(8);
      expect(await repository.backlog(['nobody'])).toBe(0);
      expect(await repository.backlog(['m'])).toBe(before);
    });

    it('reads open tasks from their partial index, not every task', async () => {
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      try {
        // The table is tiny, so a scan would be cheaper: forbid it to see which index the query can use.
        await runner.query(`SET enable_seqscan = off`);
        const rows = await runner.query(`EXPLAIN ${BACKLOG_SQL}`, [['wanted']]);
        const text = rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n');
        expect(text).toContain('task_open_idx');
      } finally {
        await runner.release();
      }
    });
  });
});
