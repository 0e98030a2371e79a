import { createHash } from 'node:crypto';
import { startAppWithTestReceiver, TestApp } from './app';
import { expectNoCountDrift } from './counts';
import { TestReceiver } from './processes';
import { waitFor } from './wait';

/**
 * Cancel, retry, fairness and priority, in one process whose sender delivers over HTTP to a test receiver that
 * forwards to this same app's built-in receiver (so deliveries can be slowed down, refused and counted).
 */
describe('Pipeline control (e2e)', () => {
  let t: TestApp;
  let receiver: TestReceiver;

  beforeAll(async () => {
    ({ t, receiver } = await startAppWithTestReceiver({
      SENDER_BATCH_SIZE: '16',
      SENDER_CONCURRENCY: '1',
      SENDER_POLL_INTERVAL_MS: '100',
      SENDER_RETRY_BASE_MS: '20',
    }));
  });
  afterAll(() => t.close());
  beforeEach(() => (receiver.behaviour = {}));

  async function createTask(n: number, name: string, priority = 0): Promise<number> {
    const chunks = Array.from({ length: n }, (_, i) => ({ text: `${name} ${i}` }));
    return (await t.http().post('/tasks').send({ name, model: 'tiny', priority, chunks }).expect(201)).body.id;
  }

  const task = async (id: number) => (await t.http().get(`/tasks/${id}`)).body;
  const settled = (id: number) =>
    waitFor(async () => {
      const current = await task(id);
      return ['completed', 'failed', 'cancelled'].includes(current.status) && current.progress.inProgress === 0
        ? current
        : undefined;
    }, 30_000);

  it('stops a cancelled task: nothing of it is delivered after the cancel', async () => {
    receiver.behaviour = { delayMs: 200 };
    const id = await createTask(200, 'cancel-me');
    await waitFor(async () => ((await task(id)).progress.done > 0 ? true : undefined));
    await t.http().post(`/tasks/${id}/cancel`).expect(200);
    const cancelledAt = Date.now();
    const final = await settled(id);
    expect(final.status).toBe('cancelled');
    expect(final.progress.done).toBeLessThan(200);
    expect(final.progress.pending).toBe(200 - final.progress.done);
    // A request already on its way may land; none may start after the cancel was answered.
    expect(receiver.arrivals.filter((at) => at > cancelledAt + 50)).toEqual([]);
    await expectNoCountDrift(receiver.forwardTo);
  });

  it('retries failed chunks through the pipeline until the task completes', async () => {
    receiver.behaviour = { rejectContentHash: createHash('sha256').update('retry-me 7').digest('hex') };
    const id = await createTask(20, 'retry-me');
    const failed = await settled(id);
    expect(failed).toMatchObject({ status: 'failed', progress: { done: 19, failed: 1 } });
    const chunks = (await t.http().get(`/tasks/${id}/chunks?status=failed`)).body.items;
    expect(chunks).toEqual([expect.objectContaining({ text: 'retry-me 7', attempts: 1, lastError: expect.stringContaining('422') })]);
    receiver.behaviour = {};
    await t.http().post(`/tasks/${id}/retry`).expect(200);
    expect(await settled(id)).toMatchObject({ status: 'completed', progress: { done: 20, failed: 0 } });
    await expectNoCountDrift(receiver.forwardTo);
  });

  it('is fair: a small task added behind a large one of the same priority finishes long before it', async () => {
    const large = await createTask(400, 'large');
    const small = await createTask(8, 'small');
    await settled(small);
    const largeNow = await task(large);
    expect(largeNow.progress.pending).toBeGreaterThan(200);
    await settled(large);
  });

  it('serves higher priority first', async () => {
    const low = await createTask(300, 'low', 0);
    const high = await createTask(30, 'high', 5);
    await settled(high);
    expect((await task(low)).progress.pending).toBeGreaterThan(150);
    await settled(low);
  });
});
