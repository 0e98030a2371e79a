import { DataSource } from 'typeorm';
import { startTestApp, TestApp } from './app';

/** Work fed with plain SQL, the way existing systems do it, must read exactly like work made through the API. */
describe('Tasks created with plain SQL (e2e)', () => {
  let t: TestApp;
  let sql: DataSource;

  beforeAll(async () => {
    t = await startTestApp();
    sql = await new DataSource({ type: 'postgres', url: t.db.url }).initialize();
  });
  afterAll(async () => {
    await sql.destroy();
    await t.close();
  });

  async function insertWithSql(texts: string[]): Promise<number> {
    const [task] = await sql.query(`INSERT INTO mgmt.task (name, model) VALUES ('docs', 'test-model') RETURNING id`);
    const chunks = await sql.query(`INSERT INTO mgmt.embed_chunk (text) SELECT unnest($1::text[]) RETURNING id`, [texts]);
    for (const chunk of chunks) {
      await sql.query(`INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) VALUES ($1, $2)`, [task.id, chunk.id]);
    }
    return task.id;
  }

  const comparable = (task: Record<string, unknown>) => {
    const { id, createdAt, updatedAt, ...rest } = task;
    return rest;
  };

  it('looks the same through GET /tasks/:id as a task made by POST /tasks', async () => {
    const texts = ['first chunk', 'second chunk', 'third chunk'];
    const sqlTaskId = await insertWithSql(texts);
    const api = await t
      .http()
      .post('/tasks')
      .send({ name: 'docs', model: 'test-model', chunks: texts.map((text) => ({ text })) })
      .expect(201);
    const fromSql = await t.http().get(`/tasks/${sqlTaskId}`).expect(200);
    const fromApi = await t.http().get(`/tasks/${api.body.id}`).expect(200);
    expect(comparable(fromSql.body)).toEqual(comparable(fromApi.body));
    expect(fromSql.body.progress.total).toBe(3);
  });

  it("lists the SQL task's chunks with the same hashes as the API's", async () => {
    const sqlTaskId = await insertWithSql(['same text']);
    const api = await t.http().post('/tasks').send({ name: 'x', model: 'm', chunks: [{ text: 'same text' }] }).expect(201);
    const a = await t.http().get(`/tasks/${sqlTaskId}/chunks`).expect(200);
    const b = await t.http().get(`/tasks/${api.body.id}/chunks`).expect(200);
    expect(a.body.items[0].contentHash).toBe(b.body.items[0].contentHash);
    expect(a.body.items[0]).toMatchObject({ status: 'pending', attempts: 0, text: 'same text' });
  });

  it('accepts actions on a SQL task: append, cancel, delete', async () => {
    const id = await insertWithSql(['a']);
    await t.http().post(`/tasks/${id}/chunks`).send({ chunks: [{ text: 'b' }] }).expect(200);
    expect((await t.http().get(`/tasks/${id}`)).body.progress.total).toBe(2);
    await t.http().post(`/tasks/${id}/cancel`).expect(200);
    await t.http().delete(`/tasks/${id}`).expect(204);
  });
});
