import { connect, Socket } from 'node:net';
import { DataSource } from 'typeorm';
import { startTestApp, TestApp } from './app';
import { waitFor } from './wait';

const POOL = 10;
const EXPORTS = 12;

/**
 * Clients of GET /tasks/:id/embeddings that never read cannot starve the service (docs/exports.md, "Exports and the
 * pool budget"): with a pool of 10, twelve stalled exports hold no connection and no transaction, every other route
 * answers, the thirteenth export is told to come back later, and a stalled export is ended after the idle timeout.
 */
describe('Stalled exports (e2e)', () => {
  let t: TestApp;
  let sql: DataSource;
  let port: number;
  let big: number;
  let small: number;
  const stalled: { socket: Socket; head: string }[] = [];

  beforeAll(async () => {
    t = await startTestApp({
      SENDER_ENABLED: 'false',
      DATABASE_POOL_SIZE: String(POOL),
      TASK_EXPORT_MAX_CONCURRENT: String(EXPORTS),
      TASK_EXPORT_IDLE_TIMEOUT_MS: '8000',
    });
    port = Number(new URL(await t.listen()).port);
    sql = t.app.get(DataSource);
    big = await taskWithVectors(20_000, 384);
    small = await taskWithVectors(1, 2);
  });
  afterAll(async () => {
    stalled.forEach(({ socket }) => socket.destroy());
    await t.close();
  });

  /** A task of `links` chunks, each with a stored vector of `dimensions` values for the task's model. */
  async function taskWithVectors(links: number, dimensions: number): Promise<number> {
    const [{ id }] = await sql.query(`INSERT INTO mgmt.task (name, model) VALUES ('export', 'm') RETURNING id`);
    await sql.query(
      `WITH c AS (INSERT INTO mgmt.embed_chunk (text) SELECT 'export ' || $1::bigint || ' ' || i
                  FROM generate_series(1, $2) i RETURNING id, content_hash),
            l AS (INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) SELECT $1::bigint, id FROM c)
       INSERT INTO mgmt.embedding (chunk_id, model, dimensions, embedding, content_hash)
       SELECT id, 'm', $3, array_fill(0.123456::real, ARRAY[$3::int]), content_hash FROM c`,
      [id, links, dimensions],
    );
    return id;
  }

  /** An export whose client reads its first bytes (the status line) and then nothing more. */
  function stall(taskId: number): Promise<{ socket: Socket; head: string }> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`GET /tasks/${taskId}/embeddings HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      });
      socket.once('data', (data) => {
        socket.pause();
        resolve({ socket, head: data.toString('latin1', 0, 200) });
      });
      socket.once('error', reject);
    });
  }

  it('keeps every other route answering, refuses the thirteenth export with Retry-After, and holds no transaction', async () => {
    for (let i = 0; i < EXPORTS; i++) stalled.push(await stall(big));
    stalled.forEach(({ head }) => expect(head).toMatch(/^HTTP\/1\.1 200 /));

    const refused = await t.http().get(`/tasks/${small}/embeddings`).expect(429);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: `${EXPORTS} exports are already streaming (TASK_EXPORT_MAX_CONCURRENT); try again later`,
    });

    await t.http().get(`/tasks/${big}`).expect(200);
    await t.http().get('/tasks').expect(200);
    const created = await t
      .http()
      .post('/tasks')
      .send({ name: 'during', model: 'm', chunks: [{ text: 'still served' }] })
      .expect(201);
    expect(created.body.progress.total).toBe(1);
    const ready = await t.http().get('/health/ready').expect(200);
    expect(ready.body.info.database).toMatchObject({ status: 'up', migrations: 'applied' });

    // Once the stalled exports have filled what the network buffers hold, nobody sits in a transaction for them and
    // no pooled connection is busy for them (a page read may still be running just before).
    const quiet = await waitFor(async () => {
      const [activity] = await sql.query(
        `SELECT count(*) FILTER (WHERE state LIKE 'idle in transaction%')::int AS in_transaction,
                count(*) FILTER (WHERE state = 'active')::int AS active
         FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      return activity.active === 0 ? activity : undefined;
    });
    expect(quiet).toEqual({ in_transaction: 0, active: 0 });
  });

  it('ends a stalled export after the idle timeout: its slot comes back and its body is cut short', async () => {
    // Once the stalled exports are ended, an export is admitted again (it was refused above while they stalled).
    const again = await waitFor(async () => {
      const res = await t.http().get(`/tasks/${small}/embeddings?text=false&metadata=false`);
      return res.status === 200 ? res : undefined;
    }, 60_000);
    expect(again.text.trim().split('\n')).toHaveLength(1);

    // The client, reading at last, gets what was sent before the end and no closing chunk of the chunked body.
    const { socket } = stalled[0];
    const received: Buffer[] = [];
    socket.on('data', (data: Buffer) => received.push(data));
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.resume();
    });
    const body = Buffer.concat(received).toString('latin1');
    expect(body.length).toBeGreaterThan(0);
    expect(body.endsWith('\r\n0\r\n\r\n')).toBe(false);
  }, 90_000);
});
