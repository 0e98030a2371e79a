import { createHash } from 'node:crypto';
import { startTestApp, TestApp } from './app';

describe('Task API (e2e)', () => {
  let t: TestApp;
  const createTask = (body: object) => t.http().post('/tasks').send(body);
  const twoChunks = { name: 'docs', model: 'test-model', chunks: [{ text: 'alpha' }, { text: 'beta', metadata: { page: 2 } }] };

  beforeAll(async () => {
    t = await startTestApp({ TASK_MAX_CHUNKS_PER_REQUEST: '5' });
  });
  afterAll(() => t.close());

  describe('POST /tasks', () => {
    it('creates a task with new chunks and answers with its counts', async () => {
      const res = await createTask({ ...twoChunks, priority: 5, metadata: { team: 'search' } }).expect(201);
      expect(res.body).toMatchObject({
        name: 'docs',
        model: 'test-model',
        status: 'pending',
        priority: 5,
        metadata: { team: 'search' },
        progress: { total: 2, pending: 2, inProgress: 0, done: 0, failed: 0, percent: 0, etaSeconds: null },
      });
    });

    it('creates a task from ids of existing chunks, refusing an id given twice', async () => {
      const first = await createTask(twoChunks).expect(201);
      const chunks = await t.http().get(`/tasks/${first.body.id}/chunks`).expect(200);
      const ids = chunks.body.items.map((item: { chunkId: number }) => item.chunkId);
      const repeated = await createTask({ name: 'again', model: 'test-model', chunkIds: [...ids, ids[0]] }).expect(400);
      expect(repeated.body.message).toBe(`chunkIds[2] repeats chunkIds[0] (id ${ids[0]})`);
      const res = await createTask({ name: 'again', model: 'test-model', chunkIds: ids }).expect(201);
      expect(res.body.progress.total).toBe(2);
    });

    it('answers 400 naming each bad field, and unknown fields', async () => {
      const res = await createTask({ name: '', model: 'm', chunks: [{ text: 7 }], color: 'red' }).expect(400);
      expect(res.body.errors.map((error: { message: string }) => error.message)).toEqual(
        expect.arrayContaining([
          'property color should not exist',
          'name must not be empty',
          'chunks.0.text must be a string',
        ]),
      );
    });

    it('answers 400 for text PostgreSQL cannot store, a non-object metadata and a bad priority', async () => {
      const res = await createTask({
        name: 'n',
        model: 'm',
        priority: 1.5,
        chunks: [{ text: 'a\u0000b', metadata: [1] }],
      }).expect(400);
      expect(res.body.errors.map((error: { message: string }) => error.message)).toEqual(
        expect.arrayContaining([
          'priority must be an integer from -1000 to 1000',
          'chunks.0.text must not contain NUL (\\u0000) characters',
          'chunks.0.metadata must be a JSON object',
        ]),
      );
    });

    it('answers 400 when no chunk is given', async () => {
      const res = await createTask({ name: 'n', model: 'm', chunks: [] }).expect(400);
      expect(res.body.message).toBe('chunks or chunkIds must hold at least one item');
    });

    it('answers 400 naming chunk ids that do not exist, and writes nothing', async () => {
      const before = await t.http().get('/tasks').expect(200);
      const res = await createTask({ name: 'n', model: 'm', chunks: [{ text: 'x' }], chunkIds: [987654] }).expect(400);
      expect(res.body.message).toBe('chunkIds: no chunk with id 987654');
      const after = await t.http().get('/tasks').expect(200);
      expect(after.body.total).toBe(before.body.total);
    });

    it('answers 413 with the limit when a request holds too many chunks, and writes nothing', async () => {
      const before = await t.http().get('/tasks').expect(200);
      const chunks = Array.from({ length: 6 }, (_, i) => ({ text: `t${i}` }));
      const res = await createTask({ name: 'n', model: 'm', chunks }).expect(413);
      expect(res.body.message).toBe('at most 5 chunks per request (chunks + chunkIds); got 6');
      expect((await t.http().get('/tasks')).body.total).toBe(before.body.total);
    });
  });

  describe('reading tasks and chunks', () => {
    it('lists tasks newest first with paging and a status filter', async () => {
      const a = await createTask(twoChunks).expect(201);
      const b = await createTask(twoChunks).expect(201);
      await t.http().post(`/tasks/${a.body.id}/cancel`).expect(200);
      const page = await t.http().get('/tasks?limit=1&offset=0').expect(200);
      expect(page.body).toMatchObject({ limit: 1, offset: 0 });
      expect(page.body.items.map((x: { id: number }) => x.id)).toEqual([b.body.id]);
      const cancelled = await t.http().get('/tasks?status=cancelled').expect(200);
      expect(cancelled.body.items.map((x: { id: number }) => x.id)).toContain(a.body.id);
      expect(cancelled.body.items.every((x: { status: string }) => x.status === 'cancelled')).toBe(true);
    });

    it('answers 400 for a bad status filter or page size', async () => {
      const res = await t.http().get('/tasks?status=nope&limit=5000').expect(400);
      expect(res.body.errors.map((error: { message: string }) => error.message)).toEqual(
        expect.arrayContaining([
          'status must be one of: pending, running, completed, failed, cancelled',
          'limit must be an integer from 1 to 1000',
        ]),
      );
    });

    it("lists a task's chunks with their status, filtered and paged", async () => {
      const task = await createTask(twoChunks).expect(201);
      const res = await t.http().get(`/tasks/${task.body.id}/chunks?status=pending&limit=1`).expect(200);
      expect(res.body.total).toBe(2);
      expect(res.body.items).toHaveLength(1);
      expect(res.body.items[0]).toMatchObject({ status: 'pending', attempts: 0, lastError: null, text: 'alpha' });
      const done = await t.http().get(`/tasks/${task.body.id}/chunks?status=done`).expect(200);
      expect(done.body.total).toBe(0);
    });

    it('returns a chunk with its content hash and its tasks', async () => {
      const task = await createTask(twoChunks).expect(201);
      const list = await t.http().get(`/tasks/${task.body.id}/chunks`).expect(200);
      const res = await t.http().get(`/chunks/${list.body.items[1].chunkId}`).expect(200);
      expect(res.body).toMatchObject({
        text: 'beta',
        metadata: { page: 2 },
        contentHash: createHash('sha256').update('beta').digest('hex'),
        tasks: [{ taskId: task.body.id, status: 'pending', attempts: 0 }],
      });
    });

    it('answers 404 for unknown ids and 400 for malformed ones', async () => {
      expect((await t.http().get('/tasks/999999').expect(404)).body.message).toBe('task 999999 not found');
      expect((await t.http().get('/chunks/999999').expect(404)).body.message).toBe('chunk 999999 not found');
      expect((await t.http().get('/tasks/999999/chunks').expect(404)).body.message).toBe('task 999999 not found');
      expect((await t.http().get('/tasks/abc').expect(400)).body.message).toBe('id must be an integer from 1 to 9007199254740991');
      await t.http().post('/tasks/999999/cancel').expect(404);
      await t.http().post('/tasks/999999/retry').expect(404);
      await t.http().delete('/tasks/999999').expect(404);
      await t.http().post('/tasks/999999/chunks').send({ chunks: [{ text: 'x' }] }).expect(404);
    });
  });

  describe('actions', () => {
    it('appends chunks to a pending task', async () => {
      const task = await createTask(twoChunks).expect(201);
      const res = await t.http().post(`/tasks/${task.body.id}/chunks`).send({ chunks: [{ text: 'gamma' }] }).expect(200);
      expect(res.body.progress.total).toBe(3);
    });

    it('answers 409 when appending to a cancelled task, and 413 above the limit', async () => {
      const task = await createTask(twoChunks).expect(201);
      const many = Array.from({ length: 6 }, (_, i) => ({ text: `t${i}` }));
      await t.http().post(`/tasks/${task.body.id}/chunks`).send({ chunks: many }).expect(413);
      await t.http().post(`/tasks/${task.body.id}/cancel`).expect(200);
      const res = await t.http().post(`/tasks/${task.body.id}/chunks`).send({ chunks: [{ text: 'x' }] }).expect(409);
      expect(res.body.message).toBe(
        `cannot add chunks to task ${task.body.id}: it is cancelled (allowed: pending, running)`,
      );
    });

    it('cancels once; a second cancel answers 409', async () => {
      const task = await createTask(twoChunks).expect(201);
      const res = await t.http().post(`/tasks/${task.body.id}/cancel`).expect(200);
      expect(res.body.status).toBe('cancelled');
      expect(res.body.finishedAt).not.toBeNull();
      await t.http().post(`/tasks/${task.body.id}/cancel`).expect(409);
    });

    it('retries failed chunks: back to pending with attempts reset', async () => {
      const task = await createTask(twoChunks).expect(201);
      await query(`UPDATE mgmt.embed_task_chunk SET status = 'failed', attempts = 3, last_error = 'boom' WHERE task_id = $1`, [
        task.body.id,
      ]);
      const failed = await t.http().get(`/tasks/${task.body.id}`).expect(200);
      expect(failed.body.status).toBe('failed');
      const res = await t.http().post(`/tasks/${task.body.id}/retry`).expect(200);
      expect(res.body.progress).toMatchObject({ pending: 2, failed: 0 });
      const chunks = await t.http().get(`/tasks/${task.body.id}/chunks`).expect(200);
      expect(chunks.body.items.map((c: { attempts: number; lastError: null }) => [c.attempts, c.lastError])).toEqual([
        [0, null],
        [0, null],
      ]);
      await t.http().post(`/tasks/${task.body.id}/retry`).expect(409);
    });

    it('deletes a task that is not running and keeps its chunks; refuses a running one with 409', async () => {
      const task = await createTask(twoChunks).expect(201);
      const chunks = await t.http().get(`/tasks/${task.body.id}/chunks`).expect(200);
      await query(`UPDATE mgmt.embed_task_chunk SET status = 'in_progress' WHERE task_id = $1`, [task.body.id]);
      const res = await t.http().delete(`/tasks/${task.body.id}`).expect(409);
      expect(res.body.message).toBe(`task ${task.body.id} is running; cancel it before deleting it`);
      await t.http().post(`/tasks/${task.body.id}/cancel`).expect(200);
      await t.http().delete(`/tasks/${task.body.id}`).expect(204);
      await t.http().get(`/tasks/${task.body.id}`).expect(404);
      await t.http().get(`/chunks/${chunks.body.items[0].chunkId}`).expect(200);
    });

    it('derives completed and progress with an ETA from the links', async () => {
      const task = await createTask({ ...twoChunks, chunks: [{ text: 'a' }, { text: 'b' }, { text: 'c' }] }).expect(201);
      await query(
        `UPDATE mgmt.task SET started_at = now() - interval '10 seconds' WHERE id = $1;`,
        [task.body.id],
      );
      await query(
        `UPDATE mgmt.embed_task_chunk SET status = 'done', done_at = now() WHERE id IN
           (SELECT id FROM mgmt.embed_task_chunk WHERE task_id = $1 ORDER BY id LIMIT 2)`,
        [task.body.id],
      );
      const running = await t.http().get(`/tasks/${task.body.id}`).expect(200);
      expect(running.body.status).toBe('running');
      expect(running.body.progress.percent).toBeCloseTo(66.67, 2);
      expect(running.body.progress.chunksPerSecond).toBeCloseTo(0.2, 1);
      expect(running.body.progress.etaSeconds).toBeCloseTo(5, 0);
      await query(`UPDATE mgmt.embed_task_chunk SET status = 'done', done_at = now() WHERE task_id = $1`, [task.body.id]);
      const completed = await t.http().get(`/tasks/${task.body.id}`).expect(200);
      expect(completed.body).toMatchObject({
        status: 'completed',
        progress: { percent: 100, etaSeconds: null, estimatedCompletionAt: null },
      });
    });
  });

  async function query(sql: string, params: unknown[]) {
    const { DataSource } = await import('typeorm');
    return t.app.get(DataSource).query(sql, params);
  }
});

describe('Request body limit (e2e)', () => {
  it('answers 413 for a body over HTTP_BODY_LIMIT and writes nothing', async () => {
    const t = await startTestApp({ HTTP_BODY_LIMIT: '2kb', SENDER_ENABLED: 'false' });
    const res = await t
      .http()
      .post('/tasks')
      .send({ name: 'big', model: 'm', chunks: [{ text: 'x'.repeat(4000) }] })
      .expect(413);
    expect(res.body).toMatchObject({ statusCode: 413, message: 'request entity too large' });
    expect((await t.http().get('/tasks').expect(200)).body.total).toBe(0);
    await t.close();
  });
});
