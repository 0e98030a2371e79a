import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { Client } from 'pg';
import { OnnxModel } from '../src/embedding/providers/onnx/onnx-model';
import { createTestDatabase, TestDatabase } from './database';
import { FakeTei } from './fake-tei';
import { ensureModel } from './fixtures/model/make-model';
import { readBody, ServiceProcess, startService } from './processes';
import { TcpProxy } from './tcp-proxy';
import { waitFor } from './wait';

const MODEL = 'test/tiny';
/** In chunk texts and metadata of every failing request; it must appear in no log line. */
const MARKER = `mk-${randomBytes(8).toString('hex')}`;
/** A text holding this breaks a CHECK constraint the test adds: a failed INSERT whose parameters hold the marker. */
const REFUSED = 'refuse-this-row';

/**
 * The real service (src/main.ts) in a child process at its most talkative (LOG_LEVEL=debug, DATABASE_LOGGING=true),
 * its stdout and stderr read whole. Each kind of failure is triggered with the marker in the text and metadata it
 * handles; each failure is seen in the log by its safe description, and the marker is in no line.
 */
describe('No chunk text or metadata in any log line (e2e)', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let local: OnnxModel;
  let tei: FakeTei;
  let receiver: Server;
  let service: ServiceProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    await query(
      db.url,
      `ALTER TABLE mgmt.embed_chunk ADD CONSTRAINT refuse_marked CHECK (position('${REFUSED}' in text) = 0)`,
    );
    const target = new URL(db.url);
    proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.start();
    local = new OnnxModel({ id: 'tiny', path: await ensureModel('tiny') }, { intraOpNumThreads: 1 });
    await local.load();
    tei = new FakeTei(local, 'tiny', { model_id: MODEL, max_client_batch_size: 8, max_concurrent_requests: 16 });
    // TEI refuses an input holding the marker, quoting it in its message ("cannot tokenize an input holding …").
    tei.faults = { badInput: { contains: MARKER, status: 422 } };
    await tei.start();
    receiver = await echoingReceiver();
    service = await startService({
      DATABASE_URL: proxy.url(db.url),
      DATABASE_LOGGING: 'true',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'json',
      EMBEDDING_PROVIDER: 'tei',
      TEI_URL: tei.url,
      TEI_RETRY_BASE_MS: '10',
      RECEIVER_URL: `http://127.0.0.1:${(receiver.address() as { port: number }).port}`,
      RECEIVER_MAX_RETRIES: '1',
      SENDER_POLL_INTERVAL_MS: '200',
      SENDER_RETRY_BASE_MS: '50',
    });
  }, 120_000);
  afterAll(async () => {
    service?.child.kill('SIGTERM');
    await service?.exited;
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
    await tei?.stop();
    await local?.close();
    await proxy?.stop();
    await db?.drop();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${service.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const marked = (extra = '') => ({
    text: `${MARKER} ${extra}`.trim(),
    metadata: { note: MARKER, [MARKER]: [MARKER] },
  });
  const logged = (pattern: RegExp) =>
    waitFor(async () => (messages().some((msg) => pattern.test(msg)) ? true : undefined));

  it('a failed INSERT (an unhandled error) answers 500 and logs its sqlstate and constraint, not its parameters', async () => {
    const answer = await post('/tasks', { name: MARKER, model: MODEL, chunks: [marked(REFUSED)] });
    expect(answer.status).toBe(500);
    await logged(
      /unhandled error, answered 500: QueryFailedError: new row for relation "embed_chunk" violates check constraint "refuse_marked"/,
    );
    await logged(
      /query failed: .*violates check constraint "refuse_marked" \(sqlstate 23514, constraint refuse_marked/,
    );
  });

  it('refused input (validation, a body that is not JSON) answers 400, logged as an access line at most', async () => {
    const invalid = await post('/tasks', {
      name: MARKER,
      model: MODEL,
      priority: MARKER,
      chunks: [{ ...marked(), text: [MARKER] }],
    });
    expect(invalid.status).toBe(400);
    const unparsable = await post('/tasks', `{"name": "${MARKER}", "chunks": [{"text": "${MARKER}`);
    expect(unparsable.status).toBe(400);
    // The body parser answers before the access log's middleware: only the validation error has a line.
    await waitFor(async () => (accessLines('/tasks', 400).length >= 1 ? true : undefined));
  });

  it('a receiver answering 500 with what it was sent is logged by its status alone', async () => {
    const answer = await post('/tasks', {
      name: 'delivered',
      model: MODEL,
      chunks: [{ text: 'plain text', metadata: { note: MARKER } }],
    });
    expect(answer.status).toBe(201);
    await logged(/1 chunks failed attempt 1 of \d+: receiver answered 500$/);
  });

  it('TEI refusing an input and quoting it fails the chunk and the request, and logs no input', async () => {
    const created = await post('/tasks', { name: 'refused by TEI', model: MODEL, chunks: [marked()] });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    const failed = await waitFor(async () => {
      const page = (await (await fetch(`${service.url}/tasks/${id}/chunks?status=failed`)).json()) as {
        items: unknown[];
      };
      return page.items.length > 0 ? page.items : undefined;
    }, 60_000);
    expect(failed).toHaveLength(1);
    const direct = await post('/embed', { inputs: [`${MARKER} again`] });
    expect(direct.status).toBe(422);
    await waitFor(async () => (accessLines('/embed', 422).length >= 1 ? true : undefined));
  });

  it('an INSERT during a database outage answers 503 and logs the outage without the request', async () => {
    await proxy.pause();
    try {
      const answer = await post('/tasks', { name: MARKER, model: MODEL, chunks: [marked()] });
      expect(answer.status).toBe(503);
      // Refused (a new connection) or terminated (a pooled one the outage cut), never the request.
      await logged(/database unavailable, answered 503: .*(ECONNREFUSED|Connection terminated)/);
    } finally {
      await proxy.resume();
    }
    await waitFor(async () => ((await fetch(`${service.url}/tasks`)).status === 200 ? true : undefined));
  });

  it('leaves the marker in no line of stdout or stderr', () => {
    const output = service.output();
    expect(output.length).toBeGreaterThan(0);
    const lines = output.split('\n').filter((line) => line.includes(MARKER));
    expect(lines).toEqual([]);
  });

  interface LogLine {
    msg?: string;
    req?: { url?: string; method?: string };
    res?: { statusCode?: number };
  }

  function jsonLines(): LogLine[] {
    return service
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  }

  const messages = () => jsonLines().map((line) => line.msg ?? '');

  /** pino-http's access lines for requests to `path` answered with `status`. */
  function accessLines(path: string, status: number) {
    return jsonLines().filter(
      (line) => line.req?.url === path && line.req.method === 'POST' && line.res?.statusCode === status,
    );
  }
});

async function query(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query(sql).finally(() => client.end());
}

/** A receiver that fails every delivery, echoing the request (and the chunk text it might know) in its error. */
async function echoingReceiver(): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'POST') return void res.writeHead(200).end('ok');
    void readBody(req).then((body) =>
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: `cannot store "${MARKER}": ${body.slice(0, 200)}` })),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
