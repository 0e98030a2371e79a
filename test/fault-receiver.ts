import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { sleep } from '../src/common/backoff';
import { readBody } from './processes';

/** The receiver contract's body as the sender posts it. */
export interface FaultDelivery {
  task_id: number;
  items: { chunk_id: number; content_hash: string }[];
}

/**
 * What the receiver does with one request: store it (forward to the app's built-in receiver), answer 503, answer
 * 500 with a message, hang until the sender gives up, cut the answer off mid-body, or acknowledge without storing
 * and with a wrong `stored` count.
 */
export type Fault = 'store' | 'unavailable' | 'error' | 'hang' | 'cut' | 'wrong-stored';

/** One request as the receiver saw it; `answeredAt` is set once a stored batch's answer was sent. */
export interface Arrival {
  taskId: number;
  chunkIds: number[];
  fault: Fault;
  arrivedAt: number;
  answeredAt?: number;
}

/**
 * A scriptable receiver on loopback (port 0) for fault tests: `fault` decides per request what happens; `down()`
 * closes it so connections are refused, `up()` listens again on the same port. Stored batches are forwarded to
 * `forwardTo`'s built-in receiver, so the vectors really land, and counted per chunk.
 */
export class FaultReceiver {
  readonly arrivals: Arrival[] = [];
  fault: (delivery: FaultDelivery) => Fault = () => 'store';
  forwardTo = '';
  /** Wait this long before storing a batch (a slow receiver), so batches are in flight. */
  delayMs = 0;
  /** The message of a 500 (`error`). */
  errorMessage = 'cannot store this chunk';
  private server?: Server;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async down(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** How often each chunk was stored (acknowledged after storing). */
  storedCounts(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const arrival of this.arrivals.filter((a) => a.fault === 'store' && a.answeredAt !== undefined)) {
      arrival.chunkIds.forEach((id) => counts.set(id, (counts.get(id) ?? 0) + 1));
    }
    return counts;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const delivery = JSON.parse(body) as Partial<FaultDelivery>;
    // A readiness probe posts an empty body: judged like the built-in receiver would (400), unless the receiver is
    // unavailable or hangs as a whole right now.
    if (!Array.isArray(delivery.items)) return this.probe(res);
    const fault = this.fault(delivery as FaultDelivery);
    const arrival: Arrival = {
      taskId: delivery.task_id!,
      chunkIds: delivery.items.map((item) => item.chunk_id),
      fault,
      arrivedAt: Date.now(),
    };
    this.arrivals.push(arrival);
    switch (fault) {
      case 'store':
        return this.store(body, res, arrival);
      case 'unavailable':
        return void res.writeHead(503, { 'retry-after': '0' }).end('busy');
      case 'error':
        return void res.writeHead(500, { 'content-type': 'text/plain' }).end(this.errorMessage);
      case 'hang':
        return; // no answer: the sender's timeout ends it
      case 'cut':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"stored": ');
        return void setTimeout(() => res.destroy(), 20);
      case 'wrong-stored':
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"stored":0}');
    }
  }

  private probe(res: ServerResponse): void {
    const fault = this.fault({ task_id: 0, items: [] });
    if (fault === 'hang') return;
    if (fault === 'unavailable') return void res.writeHead(503, { 'retry-after': '0' }).end('busy');
    res.writeHead(400).end('{"message":"items must be an array"}');
  }

  private async store(body: string, res: ServerResponse, arrival: Arrival): Promise<void> {
    if (this.delayMs > 0) await sleep(this.delayMs);
    const stored = await fetch(`${this.forwardTo}/receiver/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await stored.text();
    res.writeHead(stored.status, { 'content-type': 'application/json' }).end(text);
    if (stored.ok) arrival.answeredAt = Date.now();
  }
}
