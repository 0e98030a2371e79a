import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { adminQuery, createTestDatabase, serverUrl, TestDatabase, withDatabase } from '../database';
import { dataSourceOptions } from '../../src/database/data-source.options';
import { MIGRATIONS } from '../../src/database/migrations';
import { SqlWriters1765000000000 } from '../../src/database/migrations/1765000000000-sql-writers';
import { SenderRepository } from '../../src/sender/sender.repository';
import { TaskRepository } from '../../src/task/task.repository';

/** docs/sql-writers.md: what plain SQL may do to tasks and links, one rule per test, on a real PostgreSQL. */
describe('SQL writers (real PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let tasks: TaskRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource({ ...dataSourceOptions({ url: db.url }), extra: { max: 4 } }).initialize();
    tasks = new TaskRepository(dataSource);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  /** A task with links of these statuses, written by SQL as a feeder would. */
  async function task(statuses: string[]): Promise<number> {
    const [{ id }] = await dataSource.query(`INSERT INTO mgmt.task (name, model) VALUES ('sql', 'm') RETURNING id`);
    await dataSource.query(
      `WITH c AS (INSERT INTO mgmt.embed_chunk (text) SELECT 'sql ' || $1::bigint || ' ' || i FROM generate_series(1, $2) i
                  RETURNING id)
       INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) SELECT $1::bigint, id FROM c`,
      [id, statuses.length],
    );
    for (const status of ['in_progress', 'done', 'failed']) {
      const count = statuses.filter((s) => s === status).length;
      await dataSource.query(
        `UPDATE mgmt.embed_task_chunk SET status = $2, attempts = 1, lease_expires_at = now() + interval '1 hour',
                done_at = CASE WHEN $2 = 'done' THEN now() END
         WHERE id IN (SELECT id FROM mgmt.embed_task_chunk WHERE task_id = $1 AND status = 'pending' ORDER BY id LIMIT $3)`,
        [id, status, count],
      );
    }
    return id;
  }

  const row = async (id: number) =>
    (
      await dataSource.query(
        `SELECT status, pending, in_progress, done, failed, finished_at FROM mgmt.task WHERE id = $1`,
        [id],
      )
    )[0];

  it('completes a task whose links are all deleted, with every count 0, no drift, and lets it be deleted', async () => {
    const id = await task(['done', 'done']);
    expect((await row(id)).status).toBe('completed');
    await dataSource.query(`DELETE FROM mgmt.embed_task_chunk WHERE task_id = $1`, [id]);
    expect(await row(id)).toMatchObject({ status: 'completed', pending: 0, in_progress: 0, done: 0, failed: 0 });
    expect((await row(id)).finished_at).not.toBeNull();
    expect((await tasks.findCountDrift(id)).drifted).toEqual([]);
    // DELETE /tasks/:id refuses only a running task; this one goes.
    await tasks.transaction((manager) => tasks.deleteTask(manager, id));
    expect(await row(id)).toBeUndefined();
  });

  it('completes a running task whose links are deleted mid-way, and one that never ran but had links', async () => {
    const running = await task(['pending', 'in_progress', 'done']);
    const untouched = await task(['pending', 'pending']);
    expect((await row(running)).status).toBe('running');
    expect((await row(untouched)).status).toBe('pending');
    await dataSource.query(`DELETE FROM mgmt.embed_task_chunk WHERE task_id = ANY($1::bigint[])`, [
      [running, untouched],
    ]);
    expect((await row(running)).status).toBe('completed');
    expect((await row(untouched)).status).toBe('completed');
  });

  it('leaves a task that never had a link pending, and reopens a completed one that gains links', async () => {
    const [{ id }] = await dataSource.query(`INSERT INTO mgmt.task (name, model) VALUES ('empty', 'm') RETURNING id`);
    expect((await row(id)).status).toBe('pending');
    const emptied = await task(['done']);
    await dataSource.query(`DELETE FROM mgmt.embed_task_chunk WHERE task_id = $1`, [emptied]);
    const [{ id: chunk }] = await dataSource.query(`INSERT INTO mgmt.embed_chunk (text) VALUES ('again') RETURNING id`);
    await dataSource.query(`INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) VALUES ($1, $2)`, [emptied, chunk]);
    // It never started (its one link went straight to done), so it is pending again.
    expect(await row(emptied)).toMatchObject({ status: 'pending', pending: 1, finished_at: null });
  });

  it('completes every task with links when the links table is truncated', async () => {
    const done = await task(['done']);
    const running = await task(['pending', 'in_progress']);
    await dataSource.query(`TRUNCATE mgmt.embed_task_chunk`);
    for (const id of [done, running]) {
      expect(await row(id)).toMatchObject({ status: 'completed', pending: 0, in_progress: 0, done: 0, failed: 0 });
    }
    expect((await tasks.findCountDrift()).drifted).toEqual([]);
  });

  it('refuses to reopen a cancelled task by SQL, naming it, and lets cancel/retry change it', async () => {
    const id = await task(['pending', 'failed']);
    await dataSource.query(`UPDATE mgmt.task SET status = 'cancelled' WHERE id = $1`, [id]);
    for (const status of ['pending', 'running', 'completed']) {
      await expect(dataSource.query(`UPDATE mgmt.task SET status = $2 WHERE id = $1`, [id, status])).rejects.toThrow(
        `task ${id} is cancelled: only POST /tasks/${id}/retry may reopen it`,
      );
    }
    expect((await row(id)).status).toBe('cancelled');
    // Counter changes keep it cancelled and pass: links of a cancelled task may still be written.
    await dataSource.query(
      `UPDATE mgmt.embed_task_chunk SET status = 'done' WHERE task_id = $1 AND status = 'pending'`,
      [id],
    );
    expect(await row(id)).toMatchObject({ status: 'cancelled', done: 1, pending: 0 });
    // The service's retry says so in its own transaction; the setting ends with it.
    await tasks.transaction(async (manager) => {
      await tasks.allowCancelledChange(manager);
      await manager.query(`UPDATE mgmt.task SET status = 'pending' WHERE id = $1`, [id]);
    });
    expect((await row(id)).status).toBe('failed');
    await dataSource.query(`UPDATE mgmt.task SET status = 'cancelled' WHERE id = $1`, [id]);
    await expect(dataSource.query(`UPDATE mgmt.task SET status = 'pending' WHERE id = $1`, [id])).rejects.toThrow(
      /is cancelled/,
    );
  });

  it('reclaims an in_progress link written with no lease, like an expired one', async () => {
    const id = await task(['pending', 'pending']);
    await dataSource.query(
      `UPDATE mgmt.embed_task_chunk SET status = 'in_progress', lease_owner = NULL, lease_expires_at = NULL
       WHERE task_id = $1`,
      [id],
    );
    expect(await row(id)).toMatchObject({ status: 'running', in_progress: 2 });
    expect(await new SenderRepository(dataSource).reclaimExpired(5)).toBe(2);
    expect(await row(id)).toMatchObject({ pending: 2, in_progress: 0 });
  });

  it('finds leaseless and expired links through the lease index, not a scan of every link', async () => {
    const plan = await dataSource.transaction(async (manager) => {
      await manager.query(`SET LOCAL enable_seqscan = off`);
      const rows = await manager.query<{ 'QUERY PLAN': string }[]>(
        `EXPLAIN SELECT id FROM mgmt.embed_task_chunk
         WHERE status = 'in_progress' AND (lease_expires_at < now() OR lease_expires_at IS NULL)`,
      );
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('embed_task_chunk_lease_idx');
    expect(plan).not.toContain('Seq Scan');
  });

  it('refuses negative counts and attempts, and unknown statuses', async () => {
    const id = await task(['pending']);
    await expect(dataSource.query(`UPDATE mgmt.task SET done = -1 WHERE id = $1`, [id])).rejects.toThrow(
      /task_counts_check/,
    );
    await expect(
      dataSource.query(`UPDATE mgmt.embed_task_chunk SET attempts = -1 WHERE task_id = $1`, [id]),
    ).rejects.toThrow(/embed_task_chunk_attempts_check/);
    await expect(
      dataSource.query(`UPDATE mgmt.embed_task_chunk SET status = 'lost' WHERE task_id = $1`, [id]),
    ).rejects.toThrow(/embed_task_chunk_status_check/);
    await expect(dataSource.query(`UPDATE mgmt.task SET status = 'lost' WHERE id = $1`, [id])).rejects.toThrow(
      /task_status_check/,
    );
  });
});

describe('sql-writers migration on an existing database (real PostgreSQL)', () => {
  const name = `et_writers_${randomBytes(6).toString('hex')}`;
  let dataSource: DataSource;

  beforeAll(async () => {
    await adminQuery(`CREATE DATABASE "${name}"`);
    const before = MIGRATIONS.indexOf(SqlWriters1765000000000);
    dataSource = await new DataSource({
      ...dataSourceOptions({ url: withDatabase(serverUrl(), name) }),
      migrations: MIGRATIONS.slice(0, before),
    }).initialize();
    await dataSource.runMigrations();
  });
  afterAll(async () => {
    await dataSource.destroy();
    await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });

  it('repairs what the old rules let SQL leave behind, then validates its constraints', async () => {
    const [{ id }] = await dataSource.query(`INSERT INTO mgmt.task (name, model) VALUES ('old', 'm') RETURNING id`);
    const [{ id: chunk }] = await dataSource.query(`INSERT INTO mgmt.embed_chunk (text) VALUES ('old') RETURNING id`);
    await dataSource.query(`INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) VALUES ($1, $2)`, [id, chunk]);
    for (const status of ['in_progress', 'done']) {
      await dataSource.query(`UPDATE mgmt.embed_task_chunk SET status = $2 WHERE task_id = $1`, [id, status]);
    }
    await dataSource.query(`DELETE FROM mgmt.embed_task_chunk WHERE task_id = $1`, [id]);
    // The old bug: every link gone, and the task running forever.
    expect((await dataSource.query(`SELECT status FROM mgmt.task WHERE id = $1`, [id]))[0].status).toBe('running');
    const [{ id: other }] = await dataSource.query(
      `INSERT INTO mgmt.task (name, model) VALUES ('neg', 'm') RETURNING id`,
    );
    await dataSource.query(`INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id, attempts) VALUES ($1, $2, -1)`, [
      other,
      chunk,
    ]);
    await dataSource.query(`UPDATE mgmt.task SET failed = -4 WHERE id = $1`, [other]);

    const migration = new SqlWriters1765000000000();
    const runner = dataSource.createQueryRunner();
    try {
      await migration.up(runner);
    } finally {
      await runner.release();
    }

    expect((await dataSource.query(`SELECT status FROM mgmt.task WHERE id = $1`, [id]))[0].status).toBe('completed');
    expect(
      (await dataSource.query(`SELECT attempts FROM mgmt.embed_task_chunk WHERE task_id = $1`, [other]))[0].attempts,
    ).toBe(0);
    expect((await dataSource.query(`SELECT pending, failed FROM mgmt.task WHERE id = $1`, [other]))[0]).toEqual({
      pending: 1,
      failed: 0,
    });
    const constraints = await dataSource.query(
      `SELECT conname, convalidated FROM pg_constraint
       WHERE conname IN ('task_counts_check', 'embed_task_chunk_attempts_check') ORDER BY conname`,
    );
    expect(constraints).toEqual([
      { conname: 'embed_task_chunk_attempts_check', convalidated: true },
      { conname: 'task_counts_check', convalidated: true },
    ]);

    // down() restores the old rules, and up() runs again over them.
    const again = dataSource.createQueryRunner();
    try {
      await migration.down(again);
      expect(await checks()).toEqual([]);
      await migration.up(again);
      expect(await checks()).toHaveLength(2);
    } finally {
      await again.release();
    }
  });

  const checks = () =>
    dataSource.query(
      `SELECT conname FROM pg_constraint WHERE conname IN ('task_counts_check', 'embed_task_chunk_attempts_check')`,
    );
});
