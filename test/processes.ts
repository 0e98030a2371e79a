import { sleep } from '../src/common/backoff';
import { ChildProcess, spawn } from 'node:child_process';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { freePort } from './ports';

/** The real service (src/main.ts) in a child process, so tests can kill it like an orchestrator would. */
export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

export async function startService(env: Record<string, string>, readyLine = 'Listening on'): Promise<ServiceProcess> {
  const port = await freePort();
  const { API_KEY, ...inherited } = process.env;
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    env: { ...inherited, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'log', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const onData = (data: Buffer) => {
      output += data.toString();
      if (output.includes(readyLine)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    // Into the test's own output, which the test environment shows only when the test fails.
    child.stdout.on('data', (data: Buffer) => process.stdout.write(data));
    child.stderr.on('data', (data: Buffer) => process.stderr.write(data));
    void exited.then((code) => reject(new Error(`service exited with ${code} before "${readyLine}":\n${output}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, output: () => output, exited };
}

export interface Delivery {
  model: string;
  items: { chunk_id: number; content_hash: string; embedding: string | number[] }[];
}

export interface ReceiverBehaviour {
  /** Wait before answering each request (a slow receiver). */
  delayMs?: number;
  /** Answer 503 (with Retry-After: 0) to the first N requests. */
  failFirst?: number;
  /** Refuse a batch holding this chunk id with 422, naming only that item (as a generic receiver would). */
  rejectChunk?: number;
  /** The same, for the chunk whose text has this sha-256 (known before the chunk exists). */
  rejectContentHash?: string;
  /** Answer 500 to any batch holding the chunk whose text has this sha-256 (a chunk that breaks the receiver). */
  breakOnContentHash?: string;
}

/**
 * A receiver on loopback for the tests: records every delivery it acknowledged, then forwards it to `forwardTo`'s
 * built-in receiver so the vectors are really stored. A request whose sender went away while it waited is dropped,
 * like a connection that died mid-flight.
 */
export class TestReceiver {
  readonly acknowledged: Delivery[] = [];
  /** When each request arrived (ms since epoch). */
  readonly arrivals: number[] = [];
  requests = 0;
  private server?: Server;
  url = '';

  constructor(
    public forwardTo: string,
    public behaviour: ReceiverBehaviour = {},
  ) {}

  async start(): Promise<void> {
    const port = await freePort();
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** How often each chunk id was acknowledged. */
  counts(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const delivery of this.acknowledged) {
      for (const item of delivery.items) counts.set(item.chunk_id, (counts.get(item.chunk_id) ?? 0) + 1);
    }
    return counts;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return void res.writeHead(200).end('ok');
    const body = await readBody(req);
    // A readiness probe posts an empty body: judged as the built-in receiver would (400), and not counted.
    if (!Array.isArray((JSON.parse(body) as Partial<Delivery>).items)) {
      return void res.writeHead(400).end('{"message":"items must be an array"}');
    }
    let gone = false;
    res.on('close', () => (gone = !res.writableFinished));
    this.requests++;
    this.arrivals.push(Date.now());
    if (this.behaviour.delayMs) await sleep(this.behaviour.delayMs);
    if (gone) return;
    if (this.requests <= (this.behaviour.failFirst ?? 0))
      return void res.writeHead(503, { 'retry-after': '0' }).end('busy');
    const delivery = JSON.parse(body) as Delivery;
    const { rejectChunk, rejectContentHash } = this.behaviour;
    const index = delivery.items.findIndex(
      (item) => item.chunk_id === rejectChunk || item.content_hash === rejectContentHash,
    );
    if (index >= 0) return void res.writeHead(422).end(JSON.stringify({ message: `items[${index}]: not wanted here` }));
    if (delivery.items.some((item) => item.content_hash === this.behaviour.breakOnContentHash)) {
      return void res.writeHead(500).end('cannot store this one');
    }
    const stored = await fetch(`${this.forwardTo}/receiver/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    if (stored.ok) this.acknowledged.push(delivery);
    res.writeHead(stored.status, { 'content-type': 'application/json' }).end(await stored.text());
  }
}

/** The whole body of a request, for the loopback servers the tests write. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}
