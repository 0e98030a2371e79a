import { DataSource } from 'typeorm';
import { startTestApp, TestApp } from './app';
import { expectNoCountDrift } from './counts';

/**
 * The per-task counters against a recount of the links (GET /tasks/counts/drift), after every way work is fed and
 * changed: REST, plain SQL (insert, update, move, delete), retry, cancel and delete. The pipeline's own changes
 * (claims, settling, SIGKILL, retries) are checked in the pipeline tests.
 */
describe('Task counters (e2e)', () => {
  let t: TestApp;
  let sql: DataSource;
  let baseUrl: string;

  beforeAll(async () => {
    t = await startTestApp({ SENDER_ENABLED: 'false' });
    baseUrl = await t.listen();
    sql = t.app.get(DataSource);
  });
  afterAll(() => t.close());

  const progress = async (id: number) => (await t.http().get(`/tasks/${id}`).expect(200)).body.progress;

  async function sqlTask(texts: string[]): Promise<number> {
    const [task] = await sql.query(`INSERT INTO mgmt.task (name, model) VALUES ('sql', 'm') RETURNING id`);
    await sql.query(
      `WITH c AS (INSERT INTO mgmt.embed_chunk (text) SELECT unnest($2::text[]) RETURNING id)
       INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) SELECT $1, id FROM c`,
      [task.id, texts],
    );
    return task.id;
  }

  it('follows REST feeding: create with new and existing chunks, append', async () => {
    const first = await t
      .http()
      .post('/tasks')
      .send({ name: 'a', model: 'm', chunks: [{ text: 'x' }, { text: 'y' }] });
    const [chunk] = await sql.query(`SELECT chunk_id FROM mgmt.embed_task_chunk WHERE task_id = $1 LIMIT 1`, [
      first.body.id,
    ]);
    const second = await t
      .http()
      .post('/tasks')
      .send({ name: 'b', model: 'm', chunkIds: [chunk.chunk_id] })
      .expect(201);
    await t
      .http()
      .post(`/tasks/${second.body.id}/chunks`)
      .send({ chunks: [{ text: 'z' }], chunkIds: [chunk.chunk_id] });
    expect(await progress(second.body.id)).toMatchObject({ total: 2, pending: 2 });
    await expectNoCountDrift(baseUrl);
  });

  it('follows plain SQL: inserts, status updates, links moved between tasks, deletes', async () => {
    const a = await sqlTask(['1', '2', '3', '4', '5']);
    const b = await sqlTask(['6']);
    await sql.query(
      `UPDATE mgmt.embed_task_chunk SET status = 'done', done_at = now() WHERE task_id = $1 AND chunk_id % 2 = 0`,
      [a],
    );
    await sql.query(
      `UPDATE mgmt.embed_task_chunk SET status = 'failed' WHERE task_id = $1 AND status = 'pending' AND chunk_id % 3 = 0`,
      [a],
    );
    await sql.query(
      `UPDATE mgmt.embed_task_chunk SET task_id = $2 WHERE id = (SELECT min(id) FROM mgmt.embed_task_chunk WHERE task_id = $1)`,
      [a, b],
    );
    await sql.query(
      `DELETE FROM mgmt.embed_task_chunk WHERE id = (SELECT max(id) FROM mgmt.embed_task_chunk WHERE task_id = $1)`,
      [a],
    );
    const [{ n }] = await sql.query(`SELECT count(*)::int AS n FROM mgmt.embed_task_chunk WHERE task_id = $1`, [a]);
    expect((await progress(a)).total).toBe(n);
    expect((await progress(b)).total).toBe(2);
    await expectNoCountDrift(baseUrl);
  });

  it('follows retry, cancel and delete through the API', async () => {
    const id = await sqlTask(['r1', 'r2', 'r3']);
    await sql.query(`UPDATE mgmt.embed_task_chunk SET status = 'failed', last_error = 'x' WHERE task_id = $1`, [id]);
    expect((await t.http().get(`/tasks/${id}`)).body).toMatchObject({ status: 'failed', progress: { failed: 3 } });
    expect((await t.http().post(`/tasks/${id}/retry`).expect(200)).body).toMatchObject({
      status: 'pending',
      progress: { pending: 3, failed: 0 },
    });
    await t.http().post(`/tasks/${id}/cancel`).expect(200);
    await expectNoCountDrift(baseUrl);
    await t.http().delete(`/tasks/${id}`).expect(204);
    const check = await expectNoCountDrift(baseUrl);
    const [{ n }] = await sql.query(`SELECT count(*)::int AS n FROM mgmt.task`);
    expect(check.checked).toBe(n);
  });

  it('finds a counter changed behind the triggers, names it, and repairs it to the recount', async () => {
    const id = await sqlTask(['d1', 'd2']);
    await sql.query(`UPDATE mgmt.task SET done = done + 5 WHERE id = $1`, [id]);
    const one = await t.http().get(`/tasks/counts/drift?taskId=${id}`).expect(200);
    expect(one.body).toEqual({
      checked: 1,
      drifted: [
        {
          taskId: id,
          stored: { pending: 2, inProgress: 0, done: 5, failed: 0 },
          counted: { pending: 2, inProgress: 0, done: 0, failed: 0 },
        },
      ],
      tallyDrifted: [],
      repaired: 0,
    });
    const repaired = await t.http().post('/tasks/counts/repair').expect(200);
    expect(repaired.body).toMatchObject({ drifted: [{ taskId: id }], repaired: 1 });
    expect((await t.http().get(`/tasks/${id}`)).body.progress).toMatchObject({ total: 2, pending: 2, done: 0 });
    await expectNoCountDrift(baseUrl);
  });

  it('finds a closed-task tally changed behind the triggers, and rebuilds it', async () => {
    const id = await sqlTask(['c1']);
    await t.http().post(`/tasks/${id}/cancel`).expect(200);
    await sql.query(`INSERT INTO mgmt.task_tally (status, tasks, done) VALUES ('completed', 1, 7)`);
    const check = await t.http().get('/tasks/counts/drift').expect(200);
    expect(check.body.tallyDrifted).toEqual([
      expect.objectContaining({ status: 'completed', stored: expect.objectContaining({ done: expect.any(Number) }) }),
    ]);
    expect(check.body.tallyDrifted[0].stored.done - check.body.tallyDrifted[0].counted.done).toBe(7);
    expect((await t.http().post('/tasks/counts/repair').expect(200)).body.repaired).toBe(1);
    await expectNoCountDrift(baseUrl);
  });

  it('answers 400 for a bad task id', async () => {
    expect((await t.http().get('/tasks/counts/drift?taskId=0').expect(400)).body.message).toBe(
      'taskId must be an integer from 1 to 9007199254740991',
    );
  });
});
