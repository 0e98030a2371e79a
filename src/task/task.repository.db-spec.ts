import { DataSource, EntityManager } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../test/database';
import { dataSourceOptions } from '../database/data-source.options';
import { TASK_GATE_SHARED_SQL } from './task-gate';
import { EXPORT_PAGE_LINKS, exportPageSql, ExportShape, INSERT_SLICE, NewChunk, TaskRepository } from './task.repository';

/** The task feature's SQL on a real PostgreSQL: counters kept by the triggers, keyset pages, the gate, the export. */
describe('TaskRepository (real PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let repository: TaskRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource({ ...dataSourceOptions({ url: db.url }), extra: { max: 6 } }).initialize();
    repository = new TaskRepository(dataSource);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  const texts = (prefix: string, count: number): NewChunk[] =>
    Array.from({ length: count }, (_, index) => ({ text: `${prefix} ${index}`, metadata: { index } }));

  async function newTask(chunks: NewChunk[], name = 'task', model = 'm'): Promise<number> {
    return repository.transaction(async (manager) => {
      const id = await repository.insertTask(manager, { name, model, priority: 0, metadata: { owner: 'spec' } });
      await repository.insertChunks(manager, id, chunks);
      return id;
    });
  }

  /** Sets links of a task to a status, as a sender would settle them. */
  async function settle(taskId: number, status: 'done' | 'failed', count: number): Promise<void> {
    await dataSource.query(
      `UPDATE mgmt.embed_task_chunk SET status = $2, attempts = 1,
              done_at = CASE WHEN $2 = 'done' THEN now() END, last_error = CASE WHEN $2 = 'failed' THEN 'x' END
       WHERE id IN (SELECT id FROM mgmt.embed_task_chunk WHERE task_id = $1 AND status = 'pending' ORDER BY id LIMIT $3)`,
      [taskId, status, count],
    );
  }

  async function plan(sql: string, params: unknown[]): Promise<string> {
    const rows: { 'QUERY PLAN': string }[] = await dataSource.query(`EXPLAIN ${sql}`, params);
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  }

  describe('tasks and their chunks', () => {
    it('creates the task and its chunks, in slices, with the counters the triggers keep', async () => {
      const count = INSERT_SLICE.chunks + 7;
      const id = await newTask(texts('slice', count));
      expect(await repository.findTask(id)).toMatchObject({
        id,
        name: 'task',
        model: 'm',
        status: 'pending',
        metadata: { owner: 'spec' },
        total: count,
        pending: count,
        done: 0,
        tokens: 0,
      });
      const page = await repository.listTaskChunks(id, { limit: 2, offset: 0 });
      expect(page.map((row) => row.text)).toEqual(['slice 0', 'slice 1', 'slice 2']);
      expect(page[0].content_hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('links existing chunks once, and names the ids that do not exist', async () => {
      const source = await newTask(texts('shared', 3));
      const chunkIds = (await repository.listTaskChunks(source, { limit: 10, offset: 0 })).map((row) => row.chunk_id);
      const target = await newTask([]);
      await repository.transaction(async (manager: EntityManager) => {
        expect(await repository.linkChunks(manager, target, chunkIds)).toBe(3);
        expect(await repository.linkChunks(manager, target, chunkIds.slice(0, 2))).toBe(0);
        expect(await repository.findMissingChunkIds(manager, [chunkIds[0], 9_000_000_001, 9_000_000_000])).toEqual([
          9_000_000_000, 9_000_000_001,
        ]);
      });
      expect(await repository.findTask(target)).toMatchObject({ total: 3, pending: 3 });
      expect((await repository.findChunkLinks(chunkIds[0])).map((link) => link.task_id)).toEqual([source, target]);
      expect(await repository.findChunk(chunkIds[1])).toMatchObject({ id: chunkIds[1], text: 'shared 1' });
    });
  });

  describe('pages', () => {
    it('lists tasks newest first by keyset, one row past the page, filtered by status through its index', async () => {
      const ids = [await newTask(texts('a', 1)), await newTask(texts('b', 1)), await newTask(texts('c', 1))];
      await settle(ids[1], 'done', 1);
      const newest = await repository.listTasks({ limit: 2, offset: 0 });
      expect(newest.map((task) => task.id).slice(0, 2)).toEqual([ids[2], ids[1]]);
      const after = await repository.listTasks({ after: ids[2], limit: 1, offset: 0 });
      expect(after.map((task) => task.id)).toEqual([ids[1], ids[0]]);
      const completed = await repository.listTasks({ status: 'completed', limit: 10, offset: 0 });
      expect(completed.map((task) => task.id)).toContain(ids[1]);
      expect(completed.every((task) => task.status === 'completed')).toBe(true);
    });

    it('pages a task’s chunks in the order they were added, across statuses and within one', async () => {
      const id = await newTask(texts('page', 6));
      await settle(id, 'done', 2);
      await settle(id, 'failed', 1);
      const all = await repository.listTaskChunks(id, { limit: 10, offset: 0 });
      expect(all.map((row) => [row.text, row.status])).toEqual([
        ['page 0', 'done'],
        ['page 1', 'done'],
        ['page 2', 'failed'],
        ['page 3', 'pending'],
        ['page 4', 'pending'],
        ['page 5', 'pending'],
      ]);
      const next = await repository.listTaskChunks(id, { after: all[1].id, limit: 2, offset: 0 });
      expect(next.map((row) => row.text)).toEqual(['page 2', 'page 3', 'page 4']);
      const pending = await repository.listTaskChunks(id, { status: 'pending', after: all[3].id, limit: 5, offset: 0 });
      expect(pending.map((row) => row.text)).toEqual(['page 4', 'page 5']);
    });

    it('reads a status range of a task’s links from an index, never a scan of the table', async () => {
      const id = await newTask(texts('plan', 50));
      await dataSource.query('ANALYZE mgmt.embed_task_chunk');
      const sql = `SELECT * FROM mgmt.embed_task_chunk l WHERE l.task_id = $1 AND l.status = 'pending' AND l.id > $2
                   ORDER BY l.id LIMIT 3`;
      expect(await plan(sql, [id, 0])).not.toMatch(/Seq Scan on embed_task_chunk/);
    });
  });

  describe('cancel, retry, delete', () => {
    it('puts failed links back to pending with their attempts reset, and reopens the task', async () => {
      const id = await newTask(texts('retry', 3));
      await settle(id, 'done', 1);
      await settle(id, 'failed', 2);
      expect(await repository.findTask(id)).toMatchObject({ status: 'failed', done: 1, failed: 2 });
      const requeued = await repository.transaction((manager) => repository.requeueFailed(manager, id));
      expect(requeued).toBe(2);
      expect(await repository.findTask(id)).toMatchObject({ status: 'running', pending: 2, done: 1, failed: 0 });
      const links = await repository.listTaskChunks(id, { status: 'pending', limit: 5, offset: 0 });
      expect(links.map((link) => [link.attempts, link.last_error])).toEqual([
        [0, null],
        [0, null],
      ]);
    });

    it('cancels a task only after the deliveries in flight, whose gate is held, are done', async () => {
      const id = await newTask(texts('gate', 1));
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      await runner.startTransaction();
      await runner.query(TASK_GATE_SHARED_SQL, [id]);
      let cancelled = false;
      const cancel = repository
        .transaction(async (manager) => {
          await repository.closeDeliveryGate(manager, id);
          await repository.markCancelled(manager, id);
        })
        .then(() => (cancelled = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(cancelled).toBe(false);
      await runner.commitTransaction();
      await runner.release();
      await cancel;
      expect(await repository.findTask(id)).toMatchObject({ status: 'cancelled', finished_at: expect.any(Date) });
    });

    it('deletes a task with its links; its chunks stay for the other tasks that hold them', async () => {
      const id = await newTask(texts('gone', 2));
      const [link] = await repository.listTaskChunks(id, { limit: 1, offset: 0 });
      await repository.transaction((manager) => repository.deleteTask(manager, id));
      expect(await repository.findTask(id)).toBeUndefined();
      expect(await repository.findChunkLinks(link.chunk_id)).toEqual([]);
      expect(await repository.findChunk(link.chunk_id)).toMatchObject({ text: 'gone 0' });
    });
  });

  describe('export', () => {
    const shape: ExportShape = { model: 'm', text: true, metadata: false };

    async function store(taskId: number, model: string): Promise<void> {
      await dataSource.query(
        `INSERT INTO mgmt.embedding (chunk_id, model, dimensions, embedding, content_hash)
         SELECT c.id, $2, 2, ARRAY[c.id, 1]::real[], c.content_hash
         FROM mgmt.embed_task_chunk l JOIN mgmt.embed_chunk c ON c.id = l.chunk_id WHERE l.task_id = $1`,
        [taskId, model],
      );
    }

    async function exported(taskId: number, exportShape = shape): Promise<Record<string, unknown>[]> {
      const lines: Record<string, unknown>[] = [];
      for await (const bytes of repository.exportLines(taskId, exportShape)) {
        lines.push(
          ...bytes
            .toString('utf8')
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line)),
        );
      }
      return lines;
    }

    it('streams one JSON line per chunk with a stored vector of the model, in link order, across fetches', async () => {
      const id = await newTask(texts('export', 300));
      await store(id, 'm');
      await store(id, 'other');
      const lines = await exported(id);
      expect(lines).toHaveLength(300);
      expect(lines[0]).toEqual({
        chunk_id: expect.any(Number),
        text: 'export 0',
        model: 'm',
        embedding: [lines[0].chunk_id, 1],
      });
      expect(lines.map((line) => line.text)).toEqual(texts('export', 300).map((chunk) => chunk.text));
      expect(await exported(id, { model: 'm', text: false, metadata: true })).toContainEqual(
        expect.objectContaining({ metadata: { index: 299 } }),
      );
    });

    it('pages past links without a vector, and leaves out links added after it started', async () => {
      const id = await newTask(texts('paged', 3 * EXPORT_PAGE_LINKS + 5));
      // Only every third link has a vector, and a whole page's worth in the middle has none at all.
      await dataSource.query(
        `INSERT INTO mgmt.embedding (chunk_id, model, dimensions, embedding, content_hash)
         SELECT c.id, 'm', 2, ARRAY[c.id, 1]::real[], c.content_hash
         FROM (SELECT chunk_id, row_number() OVER (ORDER BY id) AS n FROM mgmt.embed_task_chunk WHERE task_id = $1) l
         JOIN mgmt.embed_chunk c ON c.id = l.chunk_id
         WHERE l.n % 3 = 1 AND l.n NOT BETWEEN $2 AND $3`,
        [id, EXPORT_PAGE_LINKS + 1, 2 * EXPORT_PAGE_LINKS + 1],
      );
      await settle(id, 'done', 100);
      const expected = texts('paged', 3 * EXPORT_PAGE_LINKS + 5)
        .map((chunk, index) => ({ text: chunk.text, n: index + 1 }))
        .filter(({ n }) => n % 3 === 1 && (n < EXPORT_PAGE_LINKS + 1 || n > 2 * EXPORT_PAGE_LINKS + 1))
        .map(({ text }) => text);
      const lines = repository.exportLines(id, shape);
      const first = await lines.next();
      // Between pages no connection is taken and no transaction is open.
      const pool = (dataSource.driver as unknown as { master: { totalCount: number; idleCount: number } }).master;
      expect(pool.idleCount).toBe(pool.totalCount);
      await repository.transaction((manager) => repository.insertChunks(manager, id, texts('late', 3)));
      await store(id, 'late-model');
      const rest: Buffer[] = [first.value as Buffer];
      for await (const bytes of lines) rest.push(bytes);
      const exportedTexts = Buffer.concat(rest)
        .toString('utf8')
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { text: string }).text);
      expect(exportedTexts).toEqual(expected);
    });

    it('reads a page by probing each of its links, never a join over the whole chunk or vector table', async () => {
      const id = await newTask(texts('plan', 20));
      await store(id, 'm');
      const plan = await dataSource.transaction(async (manager) => {
        await manager.query(`SET LOCAL enable_seqscan = off`);
        const rows = await manager.query<{ 'QUERY PLAN': string }[]>(
          `EXPLAIN ${exportPageSql({ model: 'm', text: true, metadata: true })}`,
          [id, 'm', 0, 1_000_000],
        );
        return rows.map((row) => row['QUERY PLAN']).join('\n');
      });
      expect(plan).toMatch(/Index Scan using embedding_pkey/);
      expect(plan).toMatch(/Index Scan using embed_chunk_pkey/);
      expect(plan).not.toMatch(/Hash|Merge Join|Seq Scan/);
    });

    it('gives its connection back when the reader stops early', async () => {
      const id = await newTask(texts('early', 600));
      await store(id, 'm');
      const lines = repository.exportLines(id, shape);
      await lines.next();
      await lines.return(undefined);
      const active: { count: number }[] = await dataSource.query(
        `SELECT count(*)::int AS count FROM pg_stat_activity
         WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
      );
      expect(active[0].count).toBe(0);
    });
  });

  describe('counters', () => {
    it('finds a task whose counters drifted from its links, and repairs it exactly', async () => {
      const id = await newTask(texts('drift', 4));
      await settle(id, 'done', 1);
      await dataSource.query(`UPDATE mgmt.task SET done = 3, pending = 0 WHERE id = $1`, [id]);
      const { drifted } = await repository.findCountDrift(id);
      expect(drifted).toEqual([{ id, stored: [0, 0, 3, 0], counted: [3, 0, 1, 0] }]);
      await repository.repairCounts([id]);
      expect((await repository.findCountDrift(id)).drifted).toEqual([]);
      expect(await repository.findTask(id)).toMatchObject({ pending: 3, done: 1 });
      expect((await repository.findCountDrift()).drifted).toEqual([]);
    });
  });
});
