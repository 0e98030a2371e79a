import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { adminQuery, serverUrl, withDatabase } from '../database';
import { TaskRepository } from '../../src/task/task.repository';
import { dataSourceOptions } from '../../src/database/data-source.options';
import { MIGRATIONS } from '../../src/database/migrations';
import { TaskCounters1764288000000 } from '../../src/database/migrations/1764288000000-task-counters';

/** An existing database, made before the counters existed, migrates to exact counters and derived statuses. */
describe('task-counters migration (real PostgreSQL)', () => {
  const name = `et_migrate_${randomBytes(6).toString('hex')}`;
  const url = () => withDatabase(serverUrl(), name);
  let dataSource: DataSource;

  beforeAll(async () => {
    await adminQuery(`CREATE DATABASE "${name}"`);
    const before = MIGRATIONS.indexOf(TaskCounters1764288000000);
    const old = await new DataSource({
      ...dataSourceOptions({ url: url() }),
      migrations: MIGRATIONS.slice(0, before),
    }).initialize();
    await old.runMigrations();
    await old.destroy();
    dataSource = await new DataSource(dataSourceOptions({ url: url() })).initialize();
  });
  afterAll(async () => {
    await dataSource.destroy();
    await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });

  /** A task as the old code left it: its stored status and its links' statuses, written directly. */
  async function oldTask(status: string, links: string[]): Promise<number> {
    const [task] = await dataSource.query(
      `INSERT INTO mgmt.task (name, model, status, started_at, updated_at)
       VALUES ('old', 'm', $1, CASE WHEN $1 <> 'pending' THEN now() END, '2025-01-01') RETURNING id`,
      [status],
    );
    await dataSource.query(
      `WITH c AS (INSERT INTO mgmt.embed_chunk (text) SELECT 'old ' || s FROM unnest($2::text[]) s RETURNING id),
            n AS (SELECT id, row_number() OVER (ORDER BY id) AS i FROM c)
       INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id, status, done_at)
       SELECT $1, n.id, s.status, CASE WHEN s.status = 'done' THEN timestamptz '2025-01-02' END
       FROM n JOIN unnest($2::text[]) WITH ORDINALITY AS s(status, i) ON s.i = n.i`,
      [task.id, links],
    );
    return task.id;
  }

  it('backfills the counters from the links and derives each status from them', async () => {
    const running = await oldTask('running', ['pending', 'in_progress', 'done', 'done']);
    // finishTasks never ran for this one (a sender died): the links say it is over.
    const unfinished = await oldTask('running', ['done', 'failed']);
    const cancelled = await oldTask('cancelled', ['pending', 'done']);
    const empty = await oldTask('pending', []);
    await dataSource.runMigrations();

    const rows = await dataSource.query(
      `SELECT id, status, pending, in_progress, done, failed, last_done_at, finished_at IS NOT NULL AS finished,
              updated_at < '2026-01-01' AS untouched
       FROM mgmt.task ORDER BY id`,
    );
    const lastDone = new Date('2025-01-02T00:00:00Z');
    expect(rows).toEqual([
      {
        id: running,
        status: 'running',
        pending: 1,
        in_progress: 1,
        done: 2,
        failed: 0,
        last_done_at: lastDone,
        finished: false,
        untouched: true,
      },
      {
        id: unfinished,
        status: 'failed',
        pending: 0,
        in_progress: 0,
        done: 1,
        failed: 1,
        last_done_at: lastDone,
        finished: true,
        untouched: false,
      },
      {
        id: cancelled,
        status: 'cancelled',
        pending: 1,
        in_progress: 0,
        done: 1,
        failed: 0,
        last_done_at: lastDone,
        finished: false,
        untouched: true,
      },
      {
        id: empty,
        status: 'pending',
        pending: 0,
        in_progress: 0,
        done: 0,
        failed: 0,
        last_done_at: null,
        finished: false,
        untouched: true,
      },
    ]);
    expect((await new TaskRepository(dataSource).findCountDrift()).drifted).toEqual([]);
  });

  it('leaves the indexes the entities declare, built concurrently, none invalid', async () => {
    const indexes = await dataSource.query(
      `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'mgmt' ORDER BY 1`,
    );
    const names = indexes.map((index: { name: string }) => index.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'embed_task_chunk_claim_idx',
        'embed_task_chunk_task_status_id_idx',
        'task_open_idx',
        'task_status_id_idx',
      ]),
    );
    for (const gone of [
      'embed_chunk_content_hash_idx',
      'embed_task_chunk_failed_idx',
      'embed_task_chunk_pending_idx',
      'embed_task_chunk_task_status_idx',
    ]) {
      expect(names).not.toContain(gone);
    }
    expect(indexes.every((index: { valid: boolean }) => index.valid)).toBe(true);
    const sql = await dataSource.driver.createSchemaBuilder().log();
    expect(sql.upQueries).toEqual([]);
  });

  it('reverts cleanly, and migrates again', async () => {
    // Every migration from the last down to the counters. TypeORM wraps an undo in a transaction unless told not to,
    // whatever the migration says.
    const later = MIGRATIONS.slice(MIGRATIONS.indexOf(TaskCounters1764288000000)).reverse();
    for (const migration of later as (new () => { transaction?: boolean })[]) {
      await dataSource.undoLastMigration({ transaction: new migration().transaction === false ? 'none' : 'each' });
    }
    const [columns] = await dataSource.query(
      `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'mgmt' AND table_name = 'task' AND column_name = 'pending'`,
    );
    expect(columns.n).toBe(0);
    await dataSource.runMigrations();
    expect((await new TaskRepository(dataSource).findCountDrift()).drifted).toEqual([]);
  });
});
