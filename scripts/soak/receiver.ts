import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { sleep } from '../../src/common/backoff';
import { readBody } from '../../test/processes';
import { Journal } from './journal';

export type ReceiverState = 'up' | '503' | 'refused';

export interface FaultOptions {
  hangRate: number;
  hangMs: number;
  poisonStatus: number;
}

/** What the receiver knows of one (task, chunk). */
export interface Received {
  contentHash: string;
  /** Deliveries stored (a repeat overwrites, as the built-in receiver's upsert does). */
  deliveries: number;
  /** Deliveries whose 2xx answer was written out in full. */
  acknowledged: number;
  /** Deliveries that came after one was already acknowledged: the sender repeated acknowledged work. */
  afterAck: number;
}

interface DeliveryBody {
  task_id: number;
  items: { chunk_id: number; content_hash: string }[];
}

/**
 * A receiver implementing POST /receiver/embeddings that misbehaves on purpose: outages (503s, or the listener
 * closed so connections are refused), requests that hang past the senders' timeout (half of them after storing,
 * so the acknowledgement is lost), and a fixed answer (500 or 422) for every batch that holds a poison chunk.
 * It keeps what it stored in memory, per (task, chunk), and counts repeats.
 */
export class FaultReceiver {
  readonly received = new Map<string, Received>();
  readonly poisonHashes = new Set<string>();
  readonly stats = { requests: 0, poisonAnswers: 0, hangs: 0, lostAcks: 0, outageAnswers: 0 };
  state: ReceiverState = 'up';
  private server?: Server;
  private port = 0;

  constructor(
    private readonly options: FaultOptions,
    private readonly journal: Journal,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    await listen(this.server, this.port);
    this.port = (this.server.address() as { port: number }).port;
    this.state = 'up';
  }

  /** Closes the listener and every open connection: senders get ECONNREFUSED until `start()`. */
  async refuse(): Promise<void> {
    this.state = 'refused';
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  }

  async stop(): Promise<void> {
    await this.refuse();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.state === '503') return this.outage(res);
    if (req.method !== 'POST') return void res.writeHead(200).end('ok');
    if (req.url !== '/receiver/embeddings') return void res.writeHead(404).end('not found');
    const body = JSON.parse(await readBody(req)) as DeliveryBody;
    this.stats.requests++;
    const hang = this.journal.chance(this.options.hangRate) ? this.journal.pick(['before', 'after'] as const) : null;
    if (hang === 'before') return this.hang(res);
    const poisoned = body.items.findIndex((item) => this.poisonHashes.has(item.content_hash));
    if (poisoned >= 0) return this.refusePoison(res, body, poisoned);
    const records = body.items.map((item) => this.store(body.task_id, item.chunk_id, item.content_hash));
    if (hang === 'after') {
      this.stats.lostAcks++;
      return this.hang(res);
    }
    res.once('finish', () => records.forEach((record) => record.acknowledged++));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ stored: records.length }));
  }

  private outage(res: ServerResponse): void {
    this.stats.outageAnswers++;
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"receiver down for maintenance"}');
  }

  /** Holds the request past the senders' timeout, then drops the connection without an answer. */
  private async hang(res: ServerResponse): Promise<void> {
    this.stats.hangs++;
    await sleep(this.options.hangMs);
    res.destroy();
  }

  private refusePoison(res: ServerResponse, body: DeliveryBody, index: number): void {
    this.stats.poisonAnswers++;
    const chunkId = body.items[index].chunk_id;
    const message = `poison chunk ${chunkId} refused`;
    const items = this.options.poisonStatus === 422 ? [{ index, chunk_id: chunkId, message }] : undefined;
    res
      .writeHead(this.options.poisonStatus, { 'content-type': 'application/json' })
      .end(JSON.stringify({ message: `items[${index}]: ${message}`, items }));
  }

  private store(taskId: number, chunkId: number, contentHash: string): Received {
    const key = `${taskId}:${chunkId}`;
    const record = this.received.get(key) ?? { contentHash, deliveries: 0, acknowledged: 0, afterAck: 0 };
    if (record.acknowledged > 0) record.afterAck++;
    record.deliveries++;
    record.contentHash = contentHash;
    this.received.set(key, record);
    return record;
  }
}

/** Listens on `port` (0: any), retrying while a closed listener's port is still being released. */
async function listen(server: Server, port: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      if (attempt >= 50) throw error;
      await sleep(200);
    }
  }
}
