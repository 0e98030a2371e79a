import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../test/database';
import { dataSourceOptions } from '../database/data-source.options';
import { COMPACT_TALLY_ABOVE, TaskTallyRepository } from './task-tally.repository';

/** Totals by task status against a plain count of the task rows, after every way tasks close, reopen and go away. */
describe('TaskTallyRepository (real PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let tally: TaskTallyRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(dataSourceOptions({ url: db.url })).initialize();
    tally = new TaskTallyRepository(dataSource);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  /** What the totals must be: a scan of every task row. */
  async function counted() {
    const rows = await dataSource.query(
      `SELECT status, count(*) AS tasks, sum(pending)::bigint AS pending, sum(in_progress)::bigint AS in_progress,
              sum(done)::bigint AS done, sum(failed)::bigint AS failed FROM mgmt.task GROUP BY status`,
    );
    return Object.fromEntries(rows.map(({ status, ...totals }: { status: string }) => [status, totals]));
  }

  async function expectExact() {
    const totals = await tally.totals();
    const nonEmpty = Object.fromEntries(Object.entries(totals).filter(([, t]) => t.tasks !== 0));
    expect(nonEmpty).toEqual(await counted());
    expect(await tally.findDrift()).toEqual([]);
  }

  async function addTask(statuses: string[]): Promise<number> {
    const [task] = await dataSource.query(`INSERT INTO mgmt.task (name, model) VALUES ('t', 'm') RETURNING id`);
    await dataSource.query(
      `WITH c AS (INSERT INTO mgmt.embed_chunk (text) SELECT 'x' || g FROM generate_series(1, $2::int) g RETURNING id),
            n AS (SELECT id, row_number() OVER (ORDER BY id) AS i FROM c)
       INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id, status)
       SELECT $1, n.id, s.status FROM n JOIN unnest($3::text[]) WITH ORDINALITY AS s(status, i) ON s.i = n.i`,
      [task.id, statuses.length, statuses],
    );
    return task.id;
  }

  const setLinks = (id: number, from: string, to: string) =>
    dataSource.query(`UPDATE mgmt.embed_task_chunk SET status = $3 WHERE task_id = $1 AND status = $2`, [id, from, to]);

  it('follows tasks that are created, closed, reopened, cancelled, changed and deleted', async () => {
    await expectExact();
    const a = await addTask(['pending', 'done']);
    const b = await addTask(['done', 'failed']);
    const c = await addTask(['pending']);
    await expectExact();
    await setLinks(a, 'pending', 'done');
    await dataSource.query(`UPDATE mgmt.task SET status = 'cancelled' WHERE id = $1`, [c]);
    await expectExact();
    await setLinks(b, 'failed', 'pending');
    await dataSource.query(
      `WITH c AS (INSERT INTO mgmt.embed_chunk (text) VALUES ('late') RETURNING id)
       INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) SELECT $1, id FROM c`,
      [a],
    );
    await expectExact();
    await dataSource.query(`UPDATE mgmt.embed_task_chunk SET task_id = $2 WHERE task_id = $1`, [c, a]);
    await dataSource.query(`DELETE FROM mgmt.task WHERE id = $1`, [b]);
    await expectExact();
    await dataSource.query(`TRUNCATE mgmt.embed_task_chunk`);
    await expectExact();
  });

  it('folds its delta rows together when they pile up, with the same totals', async () => {
    for (let i = 0; i < COMPACT_TALLY_ABOVE; i++) await setLinks(await addTask(['done']), 'done', 'failed');
    const [{ rows: before }] = await dataSource.query(`SELECT count(*)::int AS rows FROM mgmt.task_tally`);
    expect(before).toBeGreaterThan(COMPACT_TALLY_ABOVE);
    await expectExact();
    const [{ rows: after }] = await dataSource.query(`SELECT count(*)::int AS rows FROM mgmt.task_tally`);
    expect(after).toBeLessThanOrEqual(3);
    await Promise.all([tally.compact(), tally.compact(), addTask(['done']), tally.compact()]);
    await expectExact();
  });

  it('rebuilds a tally that drifted', async () => {
    await dataSource.query(`INSERT INTO mgmt.task_tally (status, tasks, done) VALUES ('failed', 2, 9)`);
    expect(await tally.findDrift()).toEqual([expect.objectContaining({ status: 'failed' })]);
    await tally.rebuild();
    await expectExact();
  });
});
