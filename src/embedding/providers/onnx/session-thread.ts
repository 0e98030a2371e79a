import { Worker } from 'node:worker_threads';
import { InferenceSession, Tensor } from 'onnxruntime-node';

/** What the service asks of an ONNX session: its graph's names and metadata, runs, and release. */
export interface RunnableSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly outputMetadata: readonly InferenceSession.ValueMetadata[];
  run(feeds: Record<string, Tensor>, fetches: string[]): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

interface PlainTensor {
  type: Tensor.Type;
  data: Tensor.DataType;
  dims: readonly number[];
}

interface GraphNames {
  inputNames: string[];
  outputNames: string[];
  outputMetadata: InferenceSession.ValueMetadata[];
}

type Reply = { id: number; result: unknown } | { id: number; error: string };

/**
 * The thread's side, plain JavaScript evaluated as the worker's script, so it runs the same from `src/` (ts-node,
 * Jest) and from `dist/`. Outputs go back by transfer (no copy); inputs are copied, since the caller still reads
 * the batch's attention mask for pooling.
 */
const THREAD_SCRIPT = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.onnxruntime);
let session;
const tensor = ({ type, data, dims }) => new ort.Tensor(type, data, dims);
async function handle(op, args) {
  if (op === 'create') {
    session = await ort.InferenceSession.create(args.path, args.options);
    const { inputNames, outputNames, outputMetadata } = session;
    return { result: { inputNames, outputNames, outputMetadata }, transfer: [] };
  }
  if (op === 'run') {
    const feeds = Object.fromEntries(Object.entries(args.feeds).map(([name, plain]) => [name, tensor(plain)]));
    const outputs = await session.run(feeds, args.fetches);
    const result = {};
    for (const [name, { type, data, dims }] of Object.entries(outputs)) result[name] = { type, data, dims };
    return { result, transfer: Object.values(result).map(({ data }) => data.buffer) };
  }
  await session?.release();
  session = undefined;
  return { result: null, transfer: [] };
}
parentPort.on('message', ({ id, op, args }) =>
  handle(op, args).then(
    ({ result, transfer }) => parentPort.postMessage({ id, result }, transfer),
    (error) => parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) }),
  ),
);
`;

/**
 * An onnxruntime session on a worker thread of its own. onnxruntime-node's `run` computes on the calling thread
 * (its promise only defers the start), so a batch on the main thread stops the event loop for as long as it runs:
 * seconds for a large batch, during which liveness probes, other routes and the tokenising of the next batch wait.
 * On its own thread a run leaves the event loop free; the compute itself is onnxruntime's native threads either way.
 */
export class ThreadedSession implements RunnableSession {
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private ended?: Error;

  private constructor(
    private readonly worker: Worker,
    private readonly graph: GraphNames,
  ) {}

  static async create(path: string, options: InferenceSession.SessionOptions): Promise<ThreadedSession> {
    const worker = new Worker(THREAD_SCRIPT, {
      eval: true,
      workerData: { onnxruntime: require.resolve('onnxruntime-node') },
    });
    const session = new ThreadedSession(worker, { inputNames: [], outputNames: [], outputMetadata: [] });
    session.listen();
    try {
      Object.assign(session.graph, await session.call<GraphNames>('create', { path, options }));
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    return session;
  }

  get inputNames(): readonly string[] {
    return this.graph.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.graph.outputNames;
  }

  get outputMetadata(): readonly InferenceSession.ValueMetadata[] {
    return this.graph.outputMetadata;
  }

  async run(feeds: Record<string, Tensor>, fetches: string[]): Promise<Record<string, Tensor>> {
    const plainFeeds = Object.fromEntries(
      Object.entries(feeds).map(([name, { type, data, dims }]) => [name, { type, data, dims }]),
    );
    const outputs = await this.call<Record<string, PlainTensor>>('run', { feeds: plainFeeds, fetches });
    return Object.fromEntries(
      Object.entries(outputs).map(([name, { type, data, dims }]) => [name, new Tensor(type, data, dims)]),
    );
  }

  async release(): Promise<void> {
    if (!this.ended) await this.call('release', {}).catch(() => undefined);
    this.ended ??= new Error('the ONNX session was released');
    await this.worker.terminate();
  }

  private listen(): void {
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => {
      const call = this.pending.get(reply.id);
      this.settled(reply.id);
      if ('error' in reply) call?.reject(new Error(reply.error));
      else call?.resolve(reply.result);
    });
    // A thread that dies (out of memory, say) fails what it was running, and every later call, with its reason.
    this.worker.on('error', (error) => this.end(error));
    this.worker.on('exit', (code) => this.end(new Error(`the ONNX session's thread exited (code ${code})`)));
  }

  private call<T>(op: 'create' | 'run' | 'release', args: object): Promise<T> {
    if (this.ended) return Promise.reject(this.ended);
    const id = this.nextId++;
    const result = new Promise<T>((resolve, reject) =>
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject }),
    );
    // The thread keeps the process alive only while it has work, like a socket with a request in flight.
    if (this.pending.size === 1) this.worker.ref();
    this.worker.postMessage({ id, op, args });
    return result;
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private end(error: Error): void {
    this.ended ??= error;
    for (const [id, call] of this.pending) {
      this.settled(id);
      call.reject(this.ended);
    }
  }
}
