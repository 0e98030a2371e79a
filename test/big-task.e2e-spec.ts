import { createHash } from 'node:crypto';
import { INSERT_SLICE } from '../src/task/task.repository';
import { startTestApp, TestApp } from './app';

/** A request bigger than one INSERT statement's slice: every chunk stored once, linked in the order sent. */
describe('Big task requests (e2e)', () => {
  let t: TestApp;
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');

  beforeAll(async () => {
    t = await startTestApp({ SENDER_ENABLED: 'false', TASK_MAX_TEXT_CHARS: String(INSERT_SLICE.chars) });
  });
  afterAll(() => t.close());

  async function listed(taskId: number): Promise<{ chunkId: number; contentHash: string }[]> {
    const items = [];
    for (let path: string | null = `/tasks/${taskId}/chunks?limit=1000`; path;) {
      const page: { body: { items: { chunkId: number; contentHash: string }[]; next: string | null } } = await t
        .http()
        .get(path)
        .expect(200);
      items.push(...page.body.items);
      path = page.body.next;
    }
    return items;
  }

  it(`stores ${INSERT_SLICE.chunks * 2 + 1} chunks from one request, in order`, async () => {
    const texts = Array.from({ length: INSERT_SLICE.chunks * 2 + 1 }, (_, i) => `text ${i}`);
    const res = await t
      .http()
      .post('/tasks')
      .send({ name: 'big', model: 'm', chunks: texts.map((text) => ({ text })) })
      .expect(201);
    expect(res.body.progress.total).toBe(texts.length);
    const items = await listed(res.body.id);
    expect(items.map((item) => item.contentHash)).toEqual(texts.map(sha));
    expect(new Set(items.map((item) => item.chunkId)).size).toBe(texts.length);
  });

  it('stores texts that fill a statement each, in order', async () => {
    const texts = ['a', 'b', 'c'].map((letter) => letter.repeat(INSERT_SLICE.chars - 10));
    const res = await t
      .http()
      .post('/tasks')
      .send({ name: 'long', model: 'm', chunks: texts.map((text) => ({ text })) })
      .expect(201);
    expect((await listed(res.body.id)).map((item) => item.contentHash)).toEqual(texts.map(sha));
  });
});
