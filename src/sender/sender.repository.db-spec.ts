import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../test/database';
import { dataSourceOptions } from '../database/data-source.options';
import { waitFor } from '../../test/wait';
import { TaskRepository } from '../task/task.repository';
import { TaskTallyRepository } from '../task/task-tally.repository';
import { CLAIM_SQL, ClaimedChunk, ClaimRequest, SenderRepository } from './sender.repository';

/** Claiming, leases and finishing on a real PostgreSQL, with the counters checked against a recount after each step. */
describe('SenderRepository (real PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let repository: SenderRepository;
  let tasks: TaskRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(dataSourceOptions({ url: db.url })).initialize();
    repository = new SenderRepository(dataSource);
    tasks = new TaskRepository(dataSource);
  });
  afterEach(async () => {
    // Every test leaves the counters equal to a recount, whatever it did to the links.
    expect((await tasks.findCountDrift()).drifted).toEqual([]);
    expect(await new TaskTallyRepository(dataSource).findDrift()).toEqual([]);
    repository.takeFinished();
    await dataSource.query(`TRUNCATE mgmt.task, mgmt.embed_task_chunk, mgmt.embed_chunk, mgmt.embedding`);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  /** A task with `pending` new links, fed with plain SQL like other systems do. */
  async function addTask(pending: number, options: { model?: string; priority?: number } = {}): Promise<number> {
    const [task] = await dataSource.query(
      `INSERT INTO mgmt.task (name, model, priority) VALUES ('t', $1, $2) RETURNING id`,
      [options.model ?? 'm', options.priority ?? 0],
    );
    await dataSource.query(
      `WITH c AS (INSERT INTO mgmt.embed_chunk (text) SELECT 'text ' || g FROM generate_series(1, $2) g RETURNING id)
       INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) SELECT $1, id FROM c ORDER BY id`,
      [task.id, pending],
    );
    return task.id;
  }

  const request = (overrides: Partial<ClaimRequest> = {}): ClaimRequest => ({
    owner: 'w1',
    models: ['m'],
    batchSize: 10,
    leaseSeconds: 60,
    ...overrides,
  });

  async function task(id: number) {
    const [row] = await dataSource.query(
      `SELECT status, pending, in_progress, done, failed, started_at, finished_at FROM mgmt.task WHERE id = $1`,
      [id],
    );
    return row;
  }

  async function waitingOnLocks(): Promise<number> {
    const [row] = await dataSource.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    return row.n;
  }

  const perTask = (items: { taskId: number }[]) => {
    const counts = new Map<number, number>();
    items.forEach((item) => counts.set(item.taskId, (counts.get(item.taskId) ?? 0) + 1));
    return counts;
  };

  describe('claim', () => {
    it('takes pending links oldest first with a lease, counts the attempt and starts the task once', async () => {
      const id = await addTask(25);
      const batch = await repository.claim(request());
      expect(batch).toMatchObject({ model: 'm', startedTaskIds: [id] });
      expect(batch!.items).toHaveLength(10);
      expect(batch!.items.map((item) => item.text)).toEqual(Array.from({ length: 10 }, (_, i) => `text ${i + 1}`));
      expect(batch!.items.every((item) => item.attempts === 1 && item.contentHash.length === 64)).toBe(true);
      const [lease] = await dataSource.query(
        `SELECT count(*)::int AS n FROM mgmt.embed_task_chunk
         WHERE status = 'in_progress' AND lease_owner = 'w1' AND lease_expires_at > now() + interval '50 seconds'`,
      );
      expect(lease.n).toBe(10);
      expect(await task(id)).toMatchObject({
        status: 'running',
        pending: 15,
        in_progress: 10,
        started_at: expect.any(Date),
      });
      expect((await repository.claim(request()))!.startedTaskIds).toEqual([]);
    });

    it('answers undefined when nothing is due: no task, another model, cancelled, finished or backing off', async () => {
      expect(await repository.claim(request())).toBeUndefined();
      await addTask(3, { model: 'other' });
      const cancelled = await addTask(3);
      await dataSource.query(`UPDATE mgmt.task SET status = 'cancelled' WHERE id = $1`, [cancelled]);
      const waiting = await addTask(3);
      await dataSource.query(
        `UPDATE mgmt.embed_task_chunk SET available_at = now() + interval '1 hour' WHERE task_id = $1`,
        [waiting],
      );
      const finished = await addTask(0);
      await dataSource.query(
        `INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id, status, done_at)
         SELECT $1, id, 'done', now() FROM mgmt.embed_chunk LIMIT 2`,
        [finished],
      );
      expect((await task(finished)).status).toBe('completed');
      expect(await repository.claim(request())).toBeUndefined();
      expect((await repository.claim(request({ models: ['other'] })))!.items).toHaveLength(3);
    });

    it('serves the highest priority first, then the oldest task, whatever was added later', async () => {
      const low = await addTask(5, { priority: 0 });
      const high = await addTask(5, { priority: 5 });
      const higherButLater = await addTask(5, { priority: 5 });
      const first = await repository.claim(request({ batchSize: 100 }));
      expect([...perTask(first!.items).keys()].sort()).toEqual([high, higherButLater].sort());
      expect((await repository.claim(request({ batchSize: 100 })))!.items.every((item) => item.taskId === low)).toBe(
        true,
      );
    });

    it('spreads a batch round-robin over the tasks of a level: a small task gives all it has, the rest share', async () => {
      const small = await addTask(3);
      const big = await addTask(100);
      const bigger = await addTask(100);
      const counts = perTask((await repository.claim(request({ batchSize: 20 })))!.items);
      expect(counts.get(small)).toBe(3);
      expect([counts.get(big), counts.get(bigger)].sort()).toEqual([8, 9]);
    });

    it('takes only the models asked for, and the first served model with work decides the batch', async () => {
      await addTask(4, { model: 'a' });
      await addTask(4, { model: 'b', priority: 1 });
      expect(await repository.claim(request({ models: ['a'] }))).toMatchObject({ model: 'a' });
      expect(await repository.claim(request({ models: ['a', 'b'] }))).toMatchObject({ model: 'b' });
    });

    it('skips links a concurrent claim holds (SKIP LOCKED inside the scan): both claims get work, none the same', async () => {
      const id = await addTask(30);
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      try {
        await runner.startTransaction();
        const held: { link_id: number }[] = await runner.query(CLAIM_SQL, [['m'], 10, 'w-held', 60]);
        // The second claim picks its links past the held ones at once, then waits for the task row (its counters)
        // until the first commits: claims of one task serialize only on that row, from the counter update to commit.
        const second = repository.claim(request({ owner: 'w2' }));
        await waitFor(async () => ((await waitingOnLocks()) > 0 ? true : undefined));
        await runner.commitTransaction();
        const batch = await second;
        expect(held).toHaveLength(10);
        expect(batch!.items).toHaveLength(10);
        const heldIds = new Set(held.map((row) => row.link_id));
        expect(batch!.items.some((item) => heldIds.has(item.linkId))).toBe(false);
        expect(await task(id)).toMatchObject({ pending: 10, in_progress: 20 });
      } finally {
        await runner.release();
      }
    });
  });

  describe('leases and settling', () => {
    it('lets only the holder settle its links: done, failed and retried links of another owner stay put', async () => {
      const id = await addTask(6);
      const mine = (await repository.claim(request({ batchSize: 3 })))!.items.map((item) => item.linkId);
      const theirs = (await repository.claim(request({ owner: 'w2', batchSize: 3 })))!.items.map((item) => item.linkId);
      expect(await repository.markDone('w1', theirs)).toBe(0);
      await repository.markFailed('w1', [{ linkId: theirs[0], error: 'no' }]);
      await repository.retryLater('w1', theirs, 'later', 0, 5);
      expect(await task(id)).toMatchObject({ in_progress: 6, done: 0 });
      expect(await repository.markDone('w1', mine)).toBe(3);
      expect(await task(id)).toMatchObject({ status: 'running', in_progress: 3, done: 3 });
    });

    it('adds the tokens of the links it marks done to their tasks, in that transaction, and only of those', async () => {
      const [a, b] = [await addTask(3), await addTask(2)];
      const mine = (await repository.claim(request({ batchSize: 4 })))!.items;
      const theirs = (await repository.claim(request({ owner: 'w2' })))!.items;
      const byLink = new Map([...mine, ...theirs].map((item, i) => [item.linkId, { tokens: 10 + i, saved: i % 2 }]));
      const sum = (items: ClaimedChunk[], taskId: number, key: 'tokens' | 'saved') =>
        items.filter((item) => item.taskId === taskId).reduce((n, item) => n + byLink.get(item.linkId)![key], 0);
      const row = async (id: number) =>
        (await dataSource.query(`SELECT tokens, saved_tokens, cost::text FROM mgmt.task WHERE id = $1`, [id]))[0];
      // w1 tries to settle every link: only its own become done, and only theirs add tokens.
      const all = [...mine, ...theirs].map((item) => item.linkId);
      expect(await repository.markDone('w1', all, { byLink, pricePerMillion: 0.13 })).toBe(4);
      for (const id of [a, b]) {
        const tokens = sum(mine, id, 'tokens');
        // numeric: the exact decimal of tokens × 0.13 / 1,000,000.
        const cost = (tokens * 13)
          .toString()
          .padStart(9, '0')
          .replace(/(\d{8})$/, '.$1');
        expect(await row(id)).toEqual({ tokens, saved_tokens: sum(mine, id, 'saved'), cost: expect.any(String) });
        expect((await row(id)).cost.replace(/0+$/, '')).toBe(cost.replace(/^0+(?=\d\.)/, '').replace(/0+$/, ''));
      }
      // Without a price, the tokens still add up and the cost is left as it was.
      const before = await row(theirs[0].taskId);
      expect(await repository.markDone('w2', [theirs[0].linkId], { byLink })).toBe(1);
      expect(await row(theirs[0].taskId)).toEqual({
        tokens: before.tokens + byLink.get(theirs[0].linkId)!.tokens,
        saved_tokens: before.saved_tokens + byLink.get(theirs[0].linkId)!.saved,
        cost: before.cost,
      });
      // Settling again counts nothing twice: the links are no longer in progress.
      const settled = await row(a);
      expect(await repository.markDone('w1', all, { byLink, pricePerMillion: 0.13 })).toBe(0);
      expect(await row(a)).toEqual(settled);
    });

    it('rolls the links back with the tokens when the token statement fails', async () => {
      const id = await addTask(2);
      const items = (await repository.claim(request()))!.items;
      // A fractional count is no bigint: the token statement fails after the links were marked done.
      const byLink = new Map(items.map((item, i) => [item.linkId, { tokens: i === 0 ? 1.5 : 1, saved: 0 }]));
      const links = items.map((item) => item.linkId);
      await expect(repository.markDone('w1', links, { byLink })).rejects.toThrow(/bigint/);
      expect(await task(id)).toMatchObject({ in_progress: 2, done: 0 });
      expect((await dataSource.query(`SELECT tokens FROM mgmt.task WHERE id = $1`, [id]))[0].tokens).toBe(0);
    });

    it('retries later with a backoff, and fails a link whose attempts are used up', async () => {
      const id = await addTask(2);
      const [a, b] = (await repository.claim(request()))!.items;
      await dataSource.query(`UPDATE mgmt.embed_task_chunk SET attempts = 5 WHERE id = $1`, [b.linkId]);
      await repository.retryLater('w1', [a.linkId, b.linkId], 'receiver down', 60_000, 5);
      const links = await dataSource.query(
        `SELECT id, status, last_error, available_at > now() + interval '50 seconds' AS later FROM mgmt.embed_task_chunk
         WHERE task_id = $1 ORDER BY id`,
        [id],
      );
      expect(links).toEqual([
        { id: a.linkId, status: 'pending', last_error: 'receiver down', later: true },
        { id: b.linkId, status: 'failed', last_error: 'receiver down', later: true },
      ]);
      expect(await repository.claim(request())).toBeUndefined();
    });

    it('gives the attempt back on a transient failure (not counted): pending after the backoff, never failed', async () => {
      const id = await addTask(1);
      const [a] = (await repository.claim(request()))!.items;
      await dataSource.query(`UPDATE mgmt.embed_task_chunk SET attempts = 5 WHERE id = $1`, [a.linkId]);
      await repository.retryLater('w1', [a.linkId], 'receiver answered 503', 60_000, 5, false);
      const [link] = await dataSource.query(
        `SELECT status, attempts, last_error, available_at > now() + interval '50 seconds' AS later
         FROM mgmt.embed_task_chunk WHERE task_id = $1`,
        [id],
      );
      expect(link).toEqual({ status: 'pending', attempts: 4, last_error: 'receiver answered 503', later: true });
    });

    it('renews only its own leases, and release gives links back without counting the attempt', async () => {
      const id = await addTask(4);
      const items = (await repository.claim(request()))!.items.map((item) => item.linkId);
      await dataSource.query(`UPDATE mgmt.embed_task_chunk SET lease_expires_at = now() WHERE task_id = $1`, [id]);
      await repository.renewLeases('w2', items, 60);
      await repository.renewLeases('w1', items.slice(0, 2), 60);
      const [renewed] = await dataSource.query(
        `SELECT count(*)::int AS n FROM mgmt.embed_task_chunk WHERE lease_expires_at > now() + interval '50 seconds'`,
      );
      expect(renewed.n).toBe(2);
      expect(await repository.release('w1', items.slice(0, 3))).toBe(3);
      expect(await task(id)).toMatchObject({ pending: 3, in_progress: 1 });
      const [attempts] = await dataSource.query(
        `SELECT max(attempts) AS n FROM mgmt.embed_task_chunk WHERE status = 'pending'`,
      );
      expect(attempts.n).toBe(0);
      expect(await repository.release('w1')).toBe(1);
    });

    it('reclaims expired leases: pending again, or failed on the last claim allowed; live leases stay', async () => {
      const id = await addTask(3);
      const [expired, last, live] = (await repository.claim(request()))!.items.map((item) => item.linkId);
      await dataSource.query(
        `UPDATE mgmt.embed_task_chunk SET lease_expires_at = now() - interval '1 second',
                attempts = CASE WHEN id = $2 THEN 5 ELSE attempts END
         WHERE id = ANY($1::bigint[])`,
        [[expired, last], last],
      );
      expect(await repository.reclaimExpired(5)).toBe(2);
      const statuses = await dataSource.query(
        `SELECT id, status FROM mgmt.embed_task_chunk WHERE task_id = $1 ORDER BY id`,
        [id],
      );
      expect(statuses).toEqual([
        { id: expired, status: 'pending' },
        { id: last, status: 'failed' },
        { id: live, status: 'in_progress' },
      ]);
    });
  });

  describe('delivery gate', () => {
    it('runs a delivery only while its task is open: a cancelled or deleted task gets none', async () => {
      const open = await addTask(1);
      const cancelled = await addTask(1);
      await dataSource.query(`UPDATE mgmt.task SET status = 'cancelled' WHERE id = $1`, [cancelled]);
      const deliver = jest.fn(async () => 'sent');
      expect(await repository.whileOpen(open, deliver)).toBe('sent');
      expect(await repository.whileOpen(cancelled, deliver)).toBeUndefined();
      expect(await repository.whileOpen(cancelled + 1000, deliver)).toBeUndefined();
      expect(deliver).toHaveBeenCalledTimes(1);
    });

    it('makes a cancel wait for the delivery in flight, and no delivery starts after it', async () => {
      const id = await addTask(1);
      let finishDelivery: (() => void) | undefined;
      const inFlight = repository.whileOpen(
        id,
        () => new Promise<string>((resolve) => (finishDelivery = () => resolve('sent'))),
      );
      await waitFor(async () => (finishDelivery ? true : undefined));
      const events: string[] = [];
      const cancel = dataSource.transaction(async (manager) => {
        await tasks.closeDeliveryGate(manager, id);
        await tasks.markCancelled(manager, id);
        events.push('cancelled');
      });
      await waitFor(async () => ((await waitingOnLocks()) > 0 ? true : undefined));
      const late = repository.whileOpen(id, async () => events.push('late delivery'));
      events.push('delivered');
      finishDelivery!();
      expect(await inFlight).toBe('sent');
      await cancel;
      expect(await late).toBeUndefined();
      expect(events).toEqual(['delivered', 'cancelled']);
    });
  });

  describe('finishing', () => {
    it('finishes a task in the statement that settles its last link, and reports it once to that worker', async () => {
      const id = await addTask(4);
      const a = (await repository.claim(request({ batchSize: 2 })))!.items.map((item) => item.linkId);
      const b = (await repository.claim(request({ owner: 'w2', batchSize: 2 })))!.items.map((item) => item.linkId);
      await repository.markFailed('w2', [{ linkId: b[0], error: 'refused' }]);
      await repository.markDone('w2', [b[1]]);
      expect(repository.takeFinished()).toEqual([]);
      expect(await task(id)).toMatchObject({ status: 'running', finished_at: null });
      await repository.markDone('w1', a);
      expect(await task(id)).toMatchObject({ status: 'failed', done: 3, failed: 1, finished_at: expect.any(Date) });
      expect(repository.takeFinished()).toEqual([{ id, status: 'failed', done: 3, failed: 1 }]);
      expect(repository.takeFinished()).toEqual([]);
    });

    it('reports tasks that a reclaim finished', async () => {
      const id = await addTask(1);
      await repository.claim(request());
      await dataSource.query(
        `UPDATE mgmt.embed_task_chunk SET attempts = 5, lease_expires_at = now() - interval '1 second'`,
      );
      await repository.reclaimExpired(5);
      expect(repository.takeFinished()).toEqual([{ id, status: 'failed', done: 0, failed: 1 }]);
    });

    it('reopens a finished task that gains pending links by SQL, and claims them', async () => {
      const id = await addTask(1);
      await repository.markDone(
        'w1',
        (await repository.claim(request()))!.items.map((item) => item.linkId),
      );
      expect((await task(id)).status).toBe('completed');
      await dataSource.query(
        `WITH c AS (INSERT INTO mgmt.embed_chunk (text) VALUES ('late') RETURNING id)
         INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) SELECT $1, id FROM c`,
        [id],
      );
      expect(await task(id)).toMatchObject({ status: 'running', pending: 1, finished_at: null });
      expect((await repository.claim(request()))!.items).toHaveLength(1);
    });
  });

  it('keeps exact counts with many workers claiming and settling the same tasks at once, without deadlocks', async () => {
    const ids = await Promise.all([60, 60, 60, 60].map((n) => addTask(n)));
    const worker = async (owner: string) => {
      for (let batch = await repository.claim(request({ owner, batchSize: 7 })); batch;) {
        const links = batch.items.map((item) => item.linkId);
        await repository.markFailed(owner, [{ linkId: links[0], error: 'x' }]);
        await repository.markDone(owner, links.slice(1));
        batch = await repository.claim(request({ owner, batchSize: 7 }));
      }
    };
    await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map(worker));
    const rows = await dataSource.query(
      `SELECT status IN ('completed', 'failed') AS finished, pending + in_progress AS open, done + failed AS settled
       FROM mgmt.task WHERE id = ANY($1) ORDER BY id`,
      [ids],
    );
    expect(rows).toEqual(ids.map(() => ({ finished: true, open: 0, settled: 60 })));
    expect(
      repository
        .takeFinished()
        .map((finished) => finished.id)
        .sort(),
    ).toEqual([...ids].sort());
  });

  describe('cost', () => {
    /** Rows each scan of mgmt.task or mgmt.embed_task_chunk produced or threw away, from EXPLAIN ANALYZE. */
    async function scannedRows(batchSize: number): Promise<{ node: string; index?: string; rows: number }[]> {
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      try {
        await runner.startTransaction();
        const [
          {
            'QUERY PLAN': [plan],
          },
        ] = await runner.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${CLAIM_SQL}`, [['m'], batchSize, 'w', 60]);
        await runner.rollbackTransaction();
        return scans(plan.Plan);
      } finally {
        await runner.release();
      }
    }

    it('reads only open tasks and the links it takes, with 50k done links and 5,000 finished tasks beside', async () => {
      await addTask(2000);
      const empty = await scannedRows(100);
      // History with statistics taken before the new task existed (autoanalyze fires late on a large table).
      const big = await addTask(0);
      await dataSource.query(
        `WITH c AS (INSERT INTO mgmt.embed_chunk (text) SELECT 'old ' || g FROM generate_series(1, 50000) g RETURNING id)
         INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id, status, attempts, done_at) SELECT $1, id, 'done', 1, now() FROM c`,
        [big],
      );
      await dataSource.query(
        `WITH t AS (INSERT INTO mgmt.task (name, model) SELECT 'old', 'm' FROM generate_series(1, 5000) RETURNING id)
         INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id, status, attempts, done_at)
         SELECT t.id, c.id, 'done', 1, now() FROM t, (SELECT id FROM mgmt.embed_chunk ORDER BY id LIMIT 2) c`,
      );
      await dataSource.query(`UPDATE mgmt.task SET status = 'cancelled' WHERE status <> 'completed'`);
      await dataSource.query(`ANALYZE`);
      await addTask(2000);
      const withHistory = await scannedRows(100);
      // The same scans, reading at most the batch plus one row per open task (each rows count is a scan's output
      // plus what its filter removed): nothing grows with the finished tasks or the done links.
      for (const scan of withHistory) expect(scan.rows).toBeLessThanOrEqual(100 + 2);
      expect(withHistory.filter((scan) => scan.node === 'Seq Scan')).toEqual([]);
      expect(new Set(withHistory.map((scan) => scan.index))).toEqual(new Set(empty.map((scan) => scan.index)));
      expect(withHistory.map((scan) => scan.index)).toContain('task_open_idx');
      expect(withHistory.map((scan) => scan.index)).toContain('embed_task_chunk_claim_idx');
    }, 60_000);
  });
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** The scans of the task and link tables in a plan (not the primary-key lookups of the rows being updated). */
function scans(node: PlanNode): { node: string; index?: string; rows: number }[] {
  const own =
    (node['Relation Name'] === 'task' || node['Relation Name'] === 'embed_task_chunk') &&
    !['task_pkey', 'embed_task_chunk_pkey'].includes(node['Index Name'] ?? '')
      ? [
          {
            node: node['Node Type'],
            index: node['Index Name'],
            rows: node['Actual Rows'] * node['Actual Loops'] + (node['Rows Removed by Filter'] ?? 0),
          },
        ]
      : [];
  return [...own, ...(node.Plans ?? []).flatMap(scans)];
}
