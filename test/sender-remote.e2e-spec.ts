import { createHash } from 'node:crypto';
import { createServer, RequestListener, Server } from 'node:http';
import { Socket } from 'node:net';
import { DataSource } from 'typeorm';
import { EmbeddingService } from '../src/embedding/embedding.service';
import { startAppWithTestReceiver, TestApp } from './app';
import { ServiceProcess, startService, TestReceiver } from './processes';
import { waitFor } from './wait';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The port a remote sender knows the embedding node by. Up, it serves the node's app; down, it drops every
 * connection, in-flight ones included, the way a crashed or unreachable node looks to a client.
 */
class Gate {
  up = false;
  /** Requests dropped while down. */
  dropped = 0;
  url = '';
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(app: RequestListener) {
    this.server = createServer((req, res) => {
      if (this.up) return app(req, res);
      this.dropped++;
      req.socket.destroy();
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  down(): void {
    this.up = false;
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * SENDER_MODE=remote end to end. The test's own app is the embedding node ("A": serves the tiny model, sender off)
 * and delivers through a TestReceiver (which counts, can refuse or fail, and forwards to A's built-in receiver, so
 * the vectors land in mgmt.embedding). A remote sender runs in a child process on the same database.
 */
describe('Remote sender and POST /embeddings/batch with deliver (e2e)', () => {
  let t: TestApp;
  let sql: DataSource;
  let receiver: TestReceiver;

  beforeAll(async () => {
    ({ t, receiver } = await startAppWithTestReceiver({
      SENDER_ENABLED: 'false',
      EMBED_MAX_INPUT_CHARS: '1000',
      RECEIVER_MAX_RETRIES: '0',
    }));
    sql = t.app.get(DataSource);
  });
  afterAll(() => t.close());
  beforeEach(() => (receiver.behaviour = {}));

  const storedRows = (chunkIds: number[]): Promise<{ chunk_id: number; embedding: number[] }[]> =>
    sql.query(`SELECT chunk_id::int, embedding FROM mgmt.embedding WHERE model = 'tiny' AND chunk_id = ANY($1)`, [
      chunkIds,
    ]);

  describe('POST /embeddings/batch with deliver', () => {
    let taskId: number;

    /** Chunks with no link to a task, so the remote sender below never claims them. */
    async function chunks(texts: string[]): Promise<{ id: number; text: string }[]> {
      return sql.query(`INSERT INTO mgmt.embed_chunk (text) SELECT unnest($1::text[]) RETURNING id::int, text`, [
        texts,
      ]);
    }
    const deliver = (body: object) =>
      t
        .http()
        .post('/embeddings/batch')
        .send({ task_id: taskId, deliver: true, ...body });

    beforeAll(async () => {
      [{ id: taskId }] = await sql.query(
        `INSERT INTO mgmt.task (name, model) VALUES ('direct', 'tiny') RETURNING id::int`,
      );
    });

    it('delivers every vector and answers per chunk, with its tokens; what is stored equals the answer without deliver', async () => {
      const sent = await chunks(['direct one', 'direct two', 'direct three', 'direct one']);
      const res = await deliver({ chunks: sent }).expect(200);
      const counts = (await t.app.get(EmbeddingService).countTokens(
        'tiny',
        sent.map((chunk) => chunk.text),
      ));
      // The repeated text is embedded once: charged to its first chunk, saved by the other.
      const charged = (i: number) =>
        i === 3 ? { tokens: 0, saved_tokens: counts[0] } : { tokens: counts[i], saved_tokens: 0 };
      expect(res.body).toEqual({
        model: 'tiny',
        dimensions: 32,
        task_id: taskId,
        items: sent.map(({ id }, i) => ({ id, status: 'delivered', ...charged(i) })),
      });
      const plain = await t.http().post('/embeddings/batch').send({ chunks: sent }).expect(200);
      const stored = new Map((await storedRows(sent.map((c) => c.id))).map((row) => [row.chunk_id, row.embedding]));
      plain.body.items.forEach((item: { id: number; embedding: number[] }) => {
        item.embedding.forEach((value, j) => expect(stored.get(item.id)![j]).toBeCloseTo(value, 6));
      });
    });

    it('stores a repeated request once per chunk', async () => {
      const sent = await chunks(['again one', 'again two']);
      const acknowledgedBefore = receiver.acknowledged.length;
      await deliver({ chunks: sent }).expect(200);
      const repeat = await deliver({ chunks: sent }).expect(200);
      const tokens = { tokens: expect.any(Number), saved_tokens: 0 };
      expect(repeat.body.items).toEqual(sent.map(({ id }) => ({ id, status: 'delivered', ...tokens })));
      expect(receiver.acknowledged.length - acknowledgedBefore).toBe(2);
      expect((await storedRows(sent.map((c) => c.id))).map((row) => row.chunk_id).sort()).toEqual(
        sent.map((c) => c.id).sort(),
      );
    });

    it('fails only the chunk whose text the model refuses or whose vector the receiver refuses', async () => {
      const [ok, long, edited, refused] = await chunks(['fine', 'x'.repeat(1001), 'original text', 'refuse me']);
      receiver.behaviour = { rejectContentHash: sha256('refuse me') };
      const res = await deliver({
        chunks: [
          ok,
          long,
          { id: edited.id, text: 'edited text' },
          refused,
          { id: 2_000_000_000, text: 'no such chunk' },
        ],
      }).expect(200);
      expect(res.body.items).toEqual([
        { id: ok.id, status: 'delivered', tokens: expect.any(Number), saved_tokens: 0 },
        { id: long.id, status: 'failed', error: 'chunks[1].text: at most 1000 characters; got 1001' },
        {
          id: edited.id,
          status: 'failed',
          error: "receiver refused: content_hash does not match the chunk's text (was it edited?)",
        },
        { id: refused.id, status: 'failed', error: expect.stringContaining('items[0]: not wanted here') },
        { id: 2_000_000_000, status: 'failed', error: 'receiver refused: unknown chunk id' },
      ]);
      expect((await storedRows([ok.id, long.id, edited.id, refused.id])).map((row) => row.chunk_id)).toEqual([ok.id]);
    });

    it('answers a chunk the receiver fails alone (500, its batch mates stored) as failed, with the receiver’s message', async () => {
      const sent = await chunks(['fine one', 'breaks the receiver', 'fine two', 'fine three']);
      receiver.behaviour = { breakOnContentHash: sha256('breaks the receiver') };
      const res = await deliver({ chunks: sent }).expect(200);
      expect(res.body.items.map((item: { id: number; status: string }) => [item.id, item.status])).toEqual(
        sent.map(({ id }, i) => [id, i === 1 ? 'failed' : 'delivered']),
      );
      expect(res.body.items[1].error).toBe('receiver answered 500: cannot store this one');
      const stored = (await storedRows(sent.map((c) => c.id))).map((row) => row.chunk_id).sort((a, b) => a - b);
      expect(stored).toEqual([sent[0].id, sent[2].id, sent[3].id].sort((a, b) => a - b));
    });

    it('answers 503 when the delivery may succeed later, and delivers when asked again', async () => {
      const sent = await chunks(['busy one', 'busy two']);
      receiver.behaviour = { failFirst: receiver.requests + 1 };
      const res = await deliver({ chunks: sent }).expect(503);
      expect(res.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: expect.stringMatching(/^delivering the vectors failed; try again: receiver answered 503/),
      });
      expect(await storedRows(sent.map((c) => c.id))).toEqual([]);
      await deliver({ chunks: sent }).expect(200);
      expect(await storedRows(sent.map((c) => c.id))).toHaveLength(2);
    });

    it.each([
      [
        { chunks: [{ id: 'a', text: 'x' }] },
        'chunks[0].id must be a positive integer (a chunk id) when deliver is true; got "a"',
      ],
      [
        { chunks: [{ id: 0, text: 'x' }] },
        'chunks[0].id must be a positive integer (a chunk id) when deliver is true; got 0',
      ],
      [{ task_id: undefined, chunks: [{ id: 1, text: 'x' }] }, 'task_id is required when deliver is true'],
      [{ chunks: [] }, 'chunks must hold at least one text'],
      [
        {
          chunks: [
            { id: 5, text: 'a' },
            { id: 5, text: 'b' },
          ],
        },
        'chunks[1].id: 5 is used twice',
      ],
      [{ deliver: 'yes', chunks: [{ id: 1, text: 'x' }] }, 'deliver must be true or false'],
    ])('answers %j with 400: %j', async (body, message) => {
      expect((await deliver(body).expect(400)).body).toMatchObject({ statusCode: 400, message });
    });

    it('lists the served models at GET /v1/models, the way OpenAI does', async () => {
      expect((await t.http().get('/v1/models').expect(200)).body).toEqual({
        object: 'list',
        data: [{ id: 'tiny', object: 'model', created: expect.any(Number), owned_by: 'embedding-tasks' }],
      });
    });
  });

  describe('a sender in another process with SENDER_MODE=remote', () => {
    let gate: Gate;
    let sender: ServiceProcess;

    beforeAll(async () => {
      gate = new Gate(t.app.getHttpAdapter().getInstance());
      await gate.start();
      sender = await startService({
        DATABASE_URL: t.db.url,
        EMBEDDING_MODELS: '',
        SENDER_MODE: 'remote',
        SENDER_REMOTE_URL: gate.url,
        SENDER_BATCH_SIZE: '16',
        SENDER_POLL_INTERVAL_MS: '200',
        SENDER_RETRY_BASE_MS: '50',
        RECEIVER_ENABLED: 'false',
        WORKER_ID: 'remote-sender',
      });
    }, 60_000);
    afterAll(async () => {
      sender?.child.kill('SIGKILL');
      await sender?.exited;
      await gate?.stop();
    });

    const texts = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => `${prefix} ${i}: ${'lorem ipsum dolor '.repeat(i % 7)}`);
    async function createTask(chunkTexts: string[], name: string): Promise<number> {
      const chunks = chunkTexts.map((text) => ({ text }));
      return (await t.http().post('/tasks').send({ name, model: 'tiny', chunks }).expect(201)).body.id;
    }
    const task = async (id: number) => (await t.http().get(`/tasks/${id}`)).body;
    const finished = (id: number) =>
      waitFor(async () => {
        const current = await task(id);
        return ['completed', 'failed'].includes(current.status) ? current : undefined;
      }, 45_000);
    async function linkRows(
      taskId: number,
    ): Promise<{ chunk_id: number; status: string; attempts: number; n: number }[]> {
      return sql.query(
        `SELECT l.chunk_id::int, l.status, l.attempts, count(e.chunk_id)::int AS n
         FROM mgmt.embed_task_chunk l LEFT JOIN mgmt.embedding e ON e.chunk_id = l.chunk_id AND e.model = 'tiny'
         WHERE l.task_id = $1 GROUP BY l.id ORDER BY l.id`,
        [taskId],
      );
    }
    const droppedAtLeast = (n: number) => waitFor(async () => (gate.dropped >= n ? true : undefined));

    it('keeps the links while the node is down (nothing claimed, no attempt spent) and completes once it is up', async () => {
      const taskId = await createTask(texts(40, 'down'), 'down');
      // The sender keeps asking the node for its models; until it answers, nothing is claimed.
      await droppedAtLeast(gate.dropped + 3);
      expect(await linkRows(taskId)).toEqual(
        Array(40).fill(expect.objectContaining({ status: 'pending', attempts: 0 })),
      );
      expect(sender.output()).toContain(`remote ${gate.url} cannot tell its models`);

      gate.up = true;
      expect(await finished(taskId)).toMatchObject({ status: 'completed', progress: { done: 40, failed: 0 } });
      expect((await linkRows(taskId)).map((row) => row.n)).toEqual(Array(40).fill(1));
      await waitFor(async () => (sender.output().includes(`remote ${gate.url} serves tiny`) ? true : undefined));
    });

    it('completes a task of 200 chunks: one stored vector per chunk, equal to the node’s /embeddings/single', async () => {
      gate.up = true;
      const chunkTexts = texts(200, 'remote');
      const taskId = await createTask(chunkTexts, 'remote');
      expect(await finished(taskId)).toMatchObject({
        status: 'completed',
        progress: { total: 200, done: 200, failed: 0, percent: 100 },
      });
      const rows: { chunk_id: number; text: string; embedding: number[]; n: number }[] = await sql.query(
        `SELECT e.chunk_id::int, c.text, e.embedding, count(*) OVER (PARTITION BY e.chunk_id)::int AS n
         FROM mgmt.embed_task_chunk l JOIN mgmt.embed_chunk c ON c.id = l.chunk_id
         JOIN mgmt.embedding e ON e.chunk_id = l.chunk_id AND e.model = 'tiny'
         WHERE l.task_id = $1`,
        [taskId],
      );
      expect(rows.map((row) => row.text).sort()).toEqual([...chunkTexts].sort());
      expect(rows.every((row) => row.n === 1)).toBe(true);
      let worst = 0;
      for (const row of rows) {
        const single = await t.http().post('/embeddings/single').send({ text: row.text, model: 'tiny' }).expect(200);
        row.embedding.forEach((value, j) => (worst = Math.max(worst, Math.abs(value - single.body.embedding[j]))));
      }
      expect(worst).toBeLessThan(1e-6);
      // Every chunk went through the node's receiver exactly once.
      const counts = receiver.counts();
      expect(rows.map((row) => counts.get(row.chunk_id))).toEqual(Array(200).fill(1));
    });

    it('fails only the chunk the node refuses and the chunk its receiver refuses, each with the message', async () => {
      gate.up = true;
      const chunkTexts = texts(30, 'picky');
      chunkTexts[5] = 'y'.repeat(1200);
      receiver.behaviour = { rejectContentHash: sha256(chunkTexts[12]) };
      const taskId = await createTask(chunkTexts, 'picky');
      expect(await finished(taskId)).toMatchObject({ status: 'failed', progress: { done: 28, failed: 2 } });
      const failed = (await t.http().get(`/tasks/${taskId}/chunks?status=failed`).expect(200)).body.items;
      expect(failed).toEqual([
        expect.objectContaining({
          text: chunkTexts[5],
          lastError: expect.stringMatching(/at most 1000 characters; got 1200$/),
        }),
        expect.objectContaining({ text: chunkTexts[12], lastError: expect.stringContaining('not wanted here') }),
      ]);
      expect(failed.map((chunk: { attempts: number }) => chunk.attempts)).toEqual([1, 1]);
    });

    it('rides out the node going down mid-task: in-flight batches retried, nothing failed or stored twice', async () => {
      gate.up = true;
      receiver.behaviour = { delayMs: 300 };
      const taskId = await createTask(texts(200, 'outage'), 'outage');
      await waitFor(async () => ((await task(taskId)).progress.done > 0 ? true : undefined));
      const logged = sender.output().length;
      gate.down();
      // Batches in flight fail as the node drops them and go back for a later attempt; then nothing is claimed.
      await waitFor(async () => (sender.output().slice(logged).includes('will be retried') ? true : undefined));
      await droppedAtLeast(gate.dropped + 3);
      expect((await task(taskId)).progress.failed).toBe(0);

      receiver.behaviour = {};
      gate.up = true;
      expect(await finished(taskId)).toMatchObject({ status: 'completed', progress: { done: 200, failed: 0 } });
      const rows = await linkRows(taskId);
      expect(rows.map((row) => row.n)).toEqual(Array(200).fill(1));
      // The node's outage was no failure of the chunks: the batches it dropped used no attempt.
      expect(rows.every((row) => row.attempts === 1)).toBe(true);
    });
  });
});
