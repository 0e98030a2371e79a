/**
 * A TEI-protocol server with a known ceiling, for `npm run bench -- tei`; run as a child process so it does not share
 * the event loop with what it measures. Every /embed batch takes SERVICE_MS, whatever it holds, and at most
 * CONCURRENCY × BATCH inputs are served at once (max_concurrent_requests, counted per input as TEI does; 429 beyond).
 * So no client can exceed CONCURRENCY × BATCH ÷ SERVICE_MS inputs per second.
 *
 * It answers one fixed vector (VECTOR, computed once from the tiny model by the parent) for every input: it benchmarks
 * the client and the pipeline around it, not a model.
 *
 * Prints `listening <port>`; GET /stats answers its counters.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { serveChild } from '../lib/child-server';

const SERVICE_MS = Number(process.env.SERVICE_MS);
const BATCH = Number(process.env.BATCH);
const CONCURRENCY = Number(process.env.CONCURRENCY);
const ROW = JSON.stringify(JSON.parse(process.env.VECTOR!) as number[]);
const CAPACITY = CONCURRENCY * BATCH;

const stats = { requests: 0, inputs: 0, overloaded: 0, mostInFlight: 0 };
let inFlight = 0;

const INFO = JSON.stringify({
  model_id: 'bench/fixed',
  model_sha: null,
  model_dtype: 'float32',
  model_type: { embedding: { pooling: 'mean' } },
  max_concurrent_requests: CAPACITY,
  max_input_length: 512,
  max_batch_tokens: 16384,
  max_batch_requests: null,
  max_client_batch_size: BATCH,
  auto_truncate: false,
  tokenization_workers: 1,
  version: 'bench-fixed',
});

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

function embed(body: string, res: ServerResponse): void {
  const inputs = (JSON.parse(body) as { inputs: string[] }).inputs;
  if (inputs.length > BATCH) {
    const error = `batch size ${inputs.length} > maximum allowed batch size ${BATCH}`;
    return send(res, 413, JSON.stringify({ error, error_type: 'validation' }));
  }
  if (inFlight + inputs.length > CAPACITY) {
    stats.overloaded++;
    return send(res, 429, JSON.stringify({ error: 'Model is overloaded', error_type: 'overloaded' }));
  }
  inFlight += inputs.length;
  stats.mostInFlight = Math.max(stats.mostInFlight, inFlight);
  setTimeout(() => {
    inFlight -= inputs.length;
    stats.requests++;
    stats.inputs += inputs.length;
    send(res, 200, `[${new Array(inputs.length).fill(ROW).join(',')}]`);
  }, SERVICE_MS);
}

function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
  if (req.method === 'POST' && req.url === '/embed') return embed(body, res);
  if (req.url === '/info') return send(res, 200, INFO);
  if (req.url === '/health') return send(res, 200, '');
  if (req.url === '/stats') return send(res, 200, JSON.stringify(stats));
  send(res, 404, JSON.stringify({ error: 'not found', error_type: 'validation' }));
}

serveChild(handle);
