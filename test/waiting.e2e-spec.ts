import { DataSource } from 'typeorm';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/config/config.loader';
import { startTestApp, TestApp } from './app';
import { ensureModel } from './fixtures/model/make-model';
import { Scrape } from './metrics';
import { waitFor } from './wait';

/**
 * An API-only instance (no model, so no heartbeat of its own) and a worker started on the same database: a task
 * says that it waits while no live worker serves its model, and stops saying so while one does.
 */
describe('a task says why it waits (e2e)', () => {
  let api: TestApp;
  const body = (model: string) => ({ name: 'w', model, chunks: [{ text: 'alpha' }, { text: 'beta' }] });
  const workers = () => api.app.get(DataSource).query(`SELECT id, models FROM mgmt.worker ORDER BY id`);
  const withoutWorker = async () =>
    new Scrape((await api.http().get('/metrics').expect(200)).text).value('embedding_tasks_open_tasks_without_worker');

  beforeAll(async () => {
    api = await startTestApp();
  });
  afterAll(() => api.close());

  it('answers 201 with the warning, and GET /tasks/:id, the list and the metric say the same', async () => {
    const created = await api.http().post('/tasks').send(body('nobody-serves-this')).expect(201);
    expect(created.body.waiting).toBe('no worker serves model nobody-serves-this');
    const one = await api.http().get(`/tasks/${created.body.id}`).expect(200);
    expect(one.body.waiting).toBe('no worker serves model nobody-serves-this');
    const list = await api.http().get('/tasks').expect(200);
    expect(list.body.items.find((task: { id: number }) => task.id === created.body.id).waiting).toBe(
      'no worker serves model nobody-serves-this',
    );
    expect(await withoutWorker()).toBe(1);
    const cancelled = await api.http().post(`/tasks/${created.body.id}/cancel`).expect(200);
    expect(cancelled.body.waiting).toBeNull();
    expect(await withoutWorker()).toBe(0);
  });

  it('a worker writes its heartbeat row at start, its tasks run, and its clean shutdown deletes the row', async () => {
    const waiting = await api.http().post('/tasks').send(body('tiny')).expect(201);
    expect(waiting.body.waiting).toBe('no worker serves model tiny');
    const config = loadConfig({
      LOG_LEVEL: 'error',
      DATABASE_URL: api.db.url,
      EMBEDDING_MODELS: `tiny=${await ensureModel('tiny')}`,
      WORKER_ID: 'waiting-e2e',
    });
    const worker = await createApp(config);
    try {
      expect(await workers()).toEqual([{ id: 'waiting-e2e', models: ['tiny'] }]);
      const done = await waitFor(async () => {
        const task = await api.http().get(`/tasks/${waiting.body.id}`).expect(200);
        return task.body.status === 'completed' ? task.body : undefined;
      });
      expect(done).toMatchObject({ waiting: null, progress: { etaSeconds: null, estimatedCompletionAt: null } });
      const served = await api.http().post('/tasks').send(body('tiny')).expect(201);
      expect(served.body.waiting).toBeNull();
    } finally {
      await worker.close();
    }
    expect(await workers()).toEqual([]);
    const after = await api.http().post('/tasks').send(body('tiny')).expect(201);
    expect(after.body.waiting).toBe('no worker serves model tiny');
  });

  it('retry resumes a cancelled task: its pending and failed chunks go on', async () => {
    const created = await api.http().post('/tasks').send(body('resumed')).expect(201);
    const id: number = created.body.id;
    await api.app.get(DataSource).query(
      `UPDATE mgmt.embed_task_chunk SET status = 'failed', attempts = 5, last_error = 'boom'
         WHERE id = (SELECT min(id) FROM mgmt.embed_task_chunk WHERE task_id = $1)`,
      [id],
    );
    await api.http().post(`/tasks/${id}/cancel`).expect(200);
    const resumed = await api.http().post(`/tasks/${id}/retry`).expect(200);
    // Running, not pending: a chunk of it had been tried (and failed) before the cancel, so it had started.
    expect(resumed.body).toMatchObject({ status: 'running', finishedAt: null, progress: { pending: 2, failed: 0 } });
    const untouched = await api.http().post('/tasks').send(body('resumed')).expect(201);
    await api.http().post(`/tasks/${untouched.body.id}/cancel`).expect(200);
    const fresh = await api.http().post(`/tasks/${untouched.body.id}/retry`).expect(200);
    expect(fresh.body).toMatchObject({ status: 'pending', finishedAt: null, progress: { pending: 2 } });
    const second = await api.http().post(`/tasks/${id}/retry`).expect(409);
    expect(second.body.message).toBe(`task ${id} has no failed chunks to retry`);
  });
});
