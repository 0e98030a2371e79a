import { Worker } from 'node:worker_threads';

/** What the probes saw while an attack ran. */
export interface ProbeResult {
  /** Answer times of the probes answered 200. */
  liveMs: number[];
  /** Probes not answered 200: the status, `timeout` (30 s) or `refused`, with their counts. */
  liveFailures: Record<string, number>;
  /** `GET /tasks` and `POST /tasks` (one small chunk), with the key: status → count. */
  others: Record<string, Record<string, number>>;
}

/**
 * The probes, in plain JavaScript on a worker thread, so that nothing the bench does with large bodies delays them:
 * /health/live one after another (5 ms apart), and every 250 ms the other routes a client would call meanwhile.
 */
const PROBES = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, key } = workerData;
let stopping = false;
parentPort.once('message', () => (stopping = true));
const liveMs = [];
const liveFailures = {};
const others = { 'GET /tasks': {}, 'POST /tasks': {} };
const count = (route, status) => (others[route][status] = (others[route][status] || 0) + 1);
const headers = { authorization: 'Bearer ' + key, 'content-type': 'application/json' };
async function call(route, init) {
  try {
    const res = await fetch(url + route.split(' ')[1], { ...init, headers, signal: AbortSignal.timeout(30000) });
    await res.arrayBuffer();
    count(route, res.status);
  } catch (error) {
    count(route, error.name === 'TimeoutError' ? 'timeout' : 'refused');
  }
}
async function live() {
  while (!stopping) {
    const sent = performance.now();
    try {
      const res = await fetch(url + '/health/live', { signal: AbortSignal.timeout(30000) });
      await res.arrayBuffer();
      if (res.ok) liveMs.push(performance.now() - sent);
      else liveFailures[res.status] = (liveFailures[res.status] || 0) + 1;
    } catch (error) {
      const reason = error.name === 'TimeoutError' ? 'timeout' : 'refused';
      liveFailures[reason] = (liveFailures[reason] || 0) + 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
async function routes() {
  const body = JSON.stringify({ name: 'probe', model: workerData.model, chunks: [{ text: 'probe' }] });
  while (!stopping) {
    await Promise.all([call('GET /tasks', {}), call('POST /tasks', { method: 'POST', body })]);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
Promise.all([live(), workerData.routes ? routes() : undefined]).then(() => parentPort.postMessage({ liveMs, liveFailures, others }));
`;

export interface Probes {
  stop(): Promise<ProbeResult>;
}

export function startProbes(url: string, key: string, model: string, routes: boolean): Probes {
  const worker = new Worker(PROBES, { eval: true, workerData: { url, key, model, routes } });
  const result = new Promise<ProbeResult>((done, fail) => {
    worker.once('message', done);
    worker.once('error', fail);
  });
  return {
    stop: async () => {
      worker.postMessage('stop');
      return result.finally(() => void worker.terminate());
    },
  };
}
