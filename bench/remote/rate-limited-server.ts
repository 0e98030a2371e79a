/**
 * An OpenAI-compatible embeddings server with a tokens-per-minute limit, for `npm run bench -- remote`; run as a
 * child process so it does not share the event loop with what it measures. Tokens are counted with the tiny test
 * model's tokenizer (TOKENIZER), as the usage it reports; the limit is a token bucket refilled at TPM per minute and
 * holding BURST_SECONDS of it (a request larger than what is left is refused with 429 and a Retry-After). Every
 * answer takes SERVICE_MS and holds one fixed real vector (VECTOR) per input: it measures the client, not a model.
 *
 * Prints `listening <port>`. GET /stats answers the counters; POST /reset {headers} starts a new run, with or without
 * the x-ratelimit-* headers.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { encodeFloat32Base64 } from '../../src/common/float32-base64';
import { TextTokenizer } from '../../src/embedding/providers/tokenizer/text-tokenizer';
import { serveChild } from '../lib/child-server';

const TPM = Number(process.env.TPM);
const BURST_SECONDS = Number(process.env.BURST_SECONDS);
const SERVICE_MS = Number(process.env.SERVICE_MS);
const EMBEDDING = encodeFloat32Base64(Float32Array.from(JSON.parse(process.env.VECTOR!) as number[]));
const tokenizer = TextTokenizer.fromFile(process.env.TOKENIZER!);
const CAPACITY = (TPM * BURST_SECONDS) / 60;

let headers = false;
let bucket = { level: CAPACITY, at: performance.now() };
let stats = newStats();

function newStats() {
  return {
    requests: 0,
    rateLimited: 0,
    acceptedTokens: 0,
    accepted: [] as [number, number][],
    started: performance.now(),
  };
}

function send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...limitHeaders(), ...extra }).end(text);
}

function refill(): void {
  const now = performance.now();
  bucket = { level: Math.min(CAPACITY, bucket.level + ((now - bucket.at) * TPM) / 60_000), at: now };
}

function limitHeaders(): Record<string, string> {
  if (!headers) return {};
  refill();
  return {
    'x-ratelimit-limit-tokens': String(TPM),
    'x-ratelimit-remaining-tokens': String(Math.max(0, Math.floor(bucket.level))),
    'x-ratelimit-reset-tokens': `${Math.ceil(((CAPACITY - bucket.level) * 60_000) / TPM)}ms`,
  };
}

async function embed(body: string, res: ServerResponse): Promise<void> {
  stats.requests++;
  const { input, model } = JSON.parse(body) as { input: string[]; model: string };
  const tokens = (await tokenizer.encode(input)).reduce((total, encoded) => total + encoded.ids.length, 0);
  refill();
  const needed = Math.min(tokens, CAPACITY);
  if (bucket.level < needed) {
    stats.rateLimited++;
    const waitSeconds = Math.max(1, Math.ceil((needed - bucket.level) / (TPM / 60)));
    const error = { message: `Rate limit reached for tokens per min (TPM): Limit ${TPM}`, type: 'tokens', param: null };
    return send(res, 429, { error: { ...error, code: 'rate_limit_exceeded' } }, { 'retry-after': String(waitSeconds) });
  }
  bucket.level -= tokens;
  stats.acceptedTokens += tokens;
  stats.accepted.push([Math.round(performance.now() - stats.started), tokens]);
  const data = input.map((_, index) => ({ object: 'embedding', index, embedding: EMBEDDING }));
  setTimeout(
    () => send(res, 200, { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } }),
    SERVICE_MS,
  );
}

function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
  if (req.method === 'POST' && req.url === '/v1/embeddings') return void embed(body, res);
  if (req.url === '/stats') return send(res, 200, stats);
  if (req.method === 'POST' && req.url === '/reset') {
    headers = (JSON.parse(body) as { headers: boolean }).headers;
    stats = newStats();
    bucket = { level: CAPACITY, at: performance.now() };
    return send(res, 200, {});
  }
  send(res, 404, { error: { message: 'not found', type: 'invalid_request_error', param: null, code: null } });
}

serveChild(handle);
