import { DataSource } from 'typeorm';
import { startTestApp, TestApp } from './app';

/** Keyset pages: `after` cursors and `next` links over the task list and a task's chunks, totals from the counters. */
describe('Keyset pages (e2e)', () => {
  let t: TestApp;
  let sql: DataSource;

  beforeAll(async () => {
    t = await startTestApp();
    sql = t.app.get(DataSource);
  });
  afterAll(() => t.close());

  const get = async (path: string) => (await t.http().get(path).expect(200)).body;

  /** Follows `next` links from `first` to the end; answers every page. */
  async function walk(
    first: string,
  ): Promise<{ items: Record<string, unknown>[]; total: number; next: string | null }[]> {
    const pages = [];
    for (let path: string | null = first; path;) {
      const page = await get(path);
      pages.push(page);
      path = page.next;
    }
    return pages;
  }

  describe('GET /tasks', () => {
    let ids: number[];

    beforeAll(async () => {
      ids = [];
      for (let i = 0; i < 7; i++) {
        const res = await t
          .http()
          .post('/tasks')
          .send({ name: `task ${i}`, model: 'm', chunks: [{ text: `t${i}` }] });
        ids.push(res.body.id);
      }
      await t.http().post(`/tasks/${ids[2]}/cancel`).expect(200);
      await t.http().post(`/tasks/${ids[5]}/cancel`).expect(200);
    });

    it('walks every task once, newest first, with the total on every page and no next link on the last', async () => {
      const pages = await walk('/tasks?limit=3');
      expect(pages.map((page) => page.items.length)).toEqual([3, 3, 1]);
      expect(pages.flatMap((page) => page.items.map((item) => item.id))).toEqual([...ids].reverse());
      expect(pages.every((page) => page.total === 7)).toBe(true);
      expect(pages[0].next).toBe(`/tasks?limit=3&after=${ids[4]}`);
      expect(pages[2].next).toBeNull();
    });

    it('keeps the status filter in the next link', async () => {
      const pages = await walk('/tasks?status=cancelled&limit=1');
      expect(pages.flatMap((page) => page.items.map((item) => item.id))).toEqual([ids[5], ids[2]]);
      expect(pages[0].next).toBe(`/tasks?status=cancelled&limit=1&after=${ids[5]}`);
      expect(pages[0].total).toBe(2);
    });

    it('does not shift when tasks are added while a client pages', async () => {
      const first = await get('/tasks?limit=2');
      await t
        .http()
        .post('/tasks')
        .send({ name: 'late', model: 'm', chunks: [{ text: 'late' }] })
        .expect(201);
      const second = await get(first.next);
      expect(second.items.map((item: { id: number }) => item.id)).toEqual([ids[4], ids[3]]);
    });

    it('answers 400 for a bad cursor', async () => {
      expect((await t.http().get('/tasks?after=0').expect(400)).body.message).toBe(
        'after must be an integer from 1 to 9007199254740991',
      );
    });
  });

  describe('GET /tasks/:id/chunks', () => {
    let taskId: number;

    beforeAll(async () => {
      const chunks = Array.from({ length: 10 }, (_, i) => ({ text: `chunk ${i}` }));
      taskId = (await t.http().post('/tasks').send({ name: 'chunks', model: 'm', chunks }).expect(201)).body.id;
      // Links of every status, interleaved, so an unfiltered page merges the four status ranges by id.
      await sql.query(
        `UPDATE mgmt.embed_task_chunk SET status = (ARRAY['pending', 'in_progress', 'done', 'failed'])[(id % 4) + 1],
                done_at = CASE WHEN id % 4 = 2 THEN now() END
         WHERE task_id = $1`,
        [taskId],
      );
    });

    it('walks every chunk once in the order they were added, the total from the counters', async () => {
      const pages = await walk(`/tasks/${taskId}/chunks?limit=4`);
      expect(pages.flatMap((page) => page.items.map((item) => item.text))).toEqual(
        Array.from({ length: 10 }, (_, i) => `chunk ${i}`),
      );
      expect(pages.map((page) => page.total)).toEqual([10, 10, 10]);
      expect(pages[0].next).toMatch(new RegExp(`^/tasks/${taskId}/chunks\\?limit=4&after=\\d+$`));
    });

    it('pages one status, with that status counter as the total', async () => {
      const [done] = await sql.query(`SELECT done FROM mgmt.task WHERE id = $1`, [taskId]);
      const pages = await walk(`/tasks/${taskId}/chunks?status=done&limit=1`);
      const items = pages.flatMap((page) => page.items);
      expect(items.length).toBe(done.done);
      expect(items.every((item) => item.status === 'done')).toBe(true);
      expect(pages.every((page) => page.total === done.done)).toBe(true);
      expect(pages[0].next).toContain('status=done');
    });

    it('still takes offset, after the cursor', async () => {
      const page = await get(`/tasks/${taskId}/chunks?limit=2&offset=3`);
      expect(page.items.map((item: { text: string }) => item.text)).toEqual(['chunk 3', 'chunk 4']);
    });
  });
});
