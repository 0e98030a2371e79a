import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../test/database';
import { dataSourceOptions } from '../database/data-source.options';
import { TASKS_WITHOUT_WORKER_SQL, WorkerRepository } from './worker.repository';

describe('WorkerRepository (real PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let repository: WorkerRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(dataSourceOptions({ url: db.url })).initialize();
    repository = new WorkerRepository(dataSource);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await db.drop();
  });
  beforeEach(async () => {
    await dataSource.query(`DELETE FROM mgmt.worker`);
    await dataSource.query(`DELETE FROM mgmt.task`);
  });

  const addTask = async (model: string, status = 'pending') => {
    await dataSource.query(`INSERT INTO mgmt.task (name, model, status) VALUES ('t', $1, $2)`, [model, status]);
  };
  /** Makes a worker's row look like that of a worker that stopped beating. */
  const expire = (id: string) =>
    dataSource.query(`UPDATE mgmt.worker SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);

  it('lists the models of live workers, each beat replacing the last, with an expiry three beats ahead', async () => {
    await repository.beat('w1', ['a', 'b'], 10_000);
    await repository.beat('w2', ['b'], 10_000);
    expect([...(await repository.liveModels())].sort()).toEqual(['a', 'b']);
    await repository.beat('w1', ['c'], 10_000);
    expect([...(await repository.liveModels())].sort()).toEqual(['b', 'c']);
    const [row] = await dataSource.query(
      `SELECT extract(epoch FROM expires_at - heartbeat_at)::int AS seconds FROM mgmt.worker WHERE id = 'w1'`,
    );
    expect(row.seconds).toBe(30);
  });

  it('ignores expired rows, sweeps them on the next beat of any worker, and deletes a row on remove', async () => {
    await repository.beat('dead', ['x'], 10_000);
    await repository.beat('alive', ['y'], 10_000);
    await expire('dead');
    expect([...(await repository.liveModels())]).toEqual(['y']);
    await repository.beat('alive', ['y'], 10_000);
    expect(await dataSource.query(`SELECT id FROM mgmt.worker`)).toEqual([{ id: 'alive' }]);
    await repository.remove('alive');
    expect(await dataSource.query(`SELECT id FROM mgmt.worker`)).toEqual([]);
  });

  it('counts open tasks no live worker serves: finished tasks and served models do not count', async () => {
    await addTask('served');
    await addTask('served', 'cancelled');
    await addTask('orphan');
    await addTask('orphan');
    await addTask('orphan', 'cancelled');
    await addTask('gone');
    expect(await repository.countTasksWithoutWorker()).toBe(4);
    await repository.beat('w1', ['served'], 10_000);
    await repository.beat('w2', ['gone'], 10_000);
    expect(await repository.countTasksWithoutWorker()).toBe(2);
    await expire('w2');
    expect(await repository.countTasksWithoutWorker()).toBe(3);
  });

  it('reads open tasks through their partial index, however many finished tasks there are', async () => {
    await dataSource.query(
      `INSERT INTO mgmt.task (name, model, status) SELECT 't', 'm' || (g % 5), 'cancelled' FROM generate_series(1, 20000) g`,
    );
    await addTask('orphan');
    await repository.beat('w1', ['m1'], 10_000);
    await dataSource.query(`ANALYZE mgmt.task`);
    const rows = await dataSource.query(`EXPLAIN ${TASKS_WITHOUT_WORKER_SQL}`);
    const plan = rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n');
    expect(plan).toContain('task_open_idx');
    expect(plan).not.toMatch(/Seq Scan on task\b/);
    expect(await repository.countTasksWithoutWorker()).toBe(1);
  });
});
