import { BatchLimits } from '../../src/embedding/providers/onnx/token-batches';
import { startBenchApp } from '../lib/bench-app';
import { quantile } from '../lib/stats';
import { RawSession } from './raw-session';
import { MODEL_ID } from './throughput';
import { messageOf } from '../../src/common/message-of';

export interface LatencyFigure {
  requests: number;
  p50Ms: number;
  p95Ms: number;
  minMs: number;
}

export interface LatencyResult {
  text: { words: number; tokens: number };
  rawSessionRun: LatencyFigure;
  /** Absent when the endpoint could not be measured; `skipped` then says why. */
  http?: LatencyFigure & { endpoint: string; database: string };
  skipped?: string;
}

export interface LatencyInput {
  modelDir: string;
  text: string;
  raw: RawSession;
  limits: BatchLimits;
  requests: number;
  warmUpRequests: number;
  databaseUrl?: string;
  log: (line: string) => void;
}

const ENDPOINT = '/embeddings/single';

/**
 * One text at a time: POST /embeddings/single on the real app (HTTP, validation, provider, JSON) beside a bare
 * session.run of the same text, alternated request by request so machine noise hits both alike.
 */
export async function measureLatency(input: LatencyInput): Promise<LatencyResult> {
  const { modelDir, text, raw, limits, requests, warmUpRequests, databaseUrl, log } = input;
  const [feeds] = await raw.prepareBatches([text], limits);
  const runRaw = () => raw.runAll([feeds]);
  const textInfo = { words: text.split(' ').length, tokens: feeds.input_ids.dims[1] };
  let app;
  try {
    app = await startBenchApp({
      env: { EMBEDDING_MODELS: `${MODEL_ID}=${modelDir}`, SENDER_ENABLED: 'false' },
      databaseUrl,
      log,
    });
  } catch (error) {
    return {
      text: textInfo,
      rawSessionRun: await timeAlone(runRaw, requests, warmUpRequests),
      skipped: `the app did not start: ${messageOf(error)}`,
    };
  }
  try {
    const post = () => postSingle(app.baseUrl, text);
    const problem = await probe(post);
    if (problem) {
      return { text: textInfo, rawSessionRun: await timeAlone(runRaw, requests, warmUpRequests), skipped: problem };
    }
    const [http, rawSessionRun] = await timeAlternating([post, runRaw], requests, warmUpRequests);
    return { text: textInfo, rawSessionRun, http: { ...http, endpoint: `POST ${ENDPOINT}`, database: app.database } };
  } finally {
    await app.close();
  }
}

interface HttpAnswer {
  status: number;
  body?: { embedding?: unknown; dimensions?: unknown };
}

/** Reading the body is part of a request: the vector arrives as JSON. */
async function postSingle(baseUrl: string, text: string): Promise<HttpAnswer> {
  const response = await fetch(baseUrl + ENDPOINT, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text, model: MODEL_ID }),
  });
  const body = (await response.json().catch(() => undefined)) as HttpAnswer['body'];
  return { status: response.status, body };
}

/** Why the endpoint cannot be measured, or undefined when it answers as specified. */
async function probe(post: () => Promise<HttpAnswer>): Promise<string | undefined> {
  try {
    const { status, body } = await post();
    if (status === 404) {
      return `POST ${ENDPOINT} answered 404: the endpoint is not there yet`;
    }
    if (status !== 200 || !Array.isArray(body?.embedding) || body.embedding.length !== body.dimensions) {
      return `POST ${ENDPOINT} answered ${status} ${JSON.stringify(body)?.slice(0, 200)}`;
    }
    return undefined;
  } catch (error) {
    return `POST ${ENDPOINT} failed: ${messageOf(error)}`;
  }
}

async function timeAlone(run: () => Promise<unknown>, requests: number, warmUp: number): Promise<LatencyFigure> {
  const [figure] = await timeAlternating([run], requests, warmUp);
  return figure;
}

/** Runs each task once per iteration, swapping the order every iteration; returns one figure per task. */
async function timeAlternating(
  tasks: Array<() => Promise<unknown>>,
  requests: number,
  warmUp: number,
): Promise<LatencyFigure[]> {
  const samples = tasks.map(() => [] as number[]);
  for (let iteration = 0; iteration < warmUp + requests; iteration++) {
    const order =
      iteration % 2 === 0 ? tasks.map((_, index) => index) : tasks.map((_, index) => tasks.length - 1 - index);
    for (const index of order) {
      const started = performance.now();
      await tasks[index]();
      if (iteration >= warmUp) {
        samples[index].push(performance.now() - started);
      }
    }
  }
  return samples.map((values) => ({
    requests: values.length,
    p50Ms: quantile(values, 0.5),
    p95Ms: quantile(values, 0.95),
    minMs: Math.min(...values),
  }));
}
