import { readFile } from 'node:fs/promises';
import { Client } from 'pg';
import { CLAIM_SQL } from '../../src/sender/sender.repository';
import { startService } from '../../test/processes';
import { quantile } from '../lib/stats';

/** p50 and p95 of one side, in milliseconds. */
export interface Latency {
  p50: number;
  p95: number;
  samples: number;
}

export interface SideBySide {
  name: string;
  small: Latency;
  history: Latency;
}

const latency = (ms: number[]): Latency => ({ p50: quantile(ms, 0.5), p95: quantile(ms, 0.95), samples: ms.length });

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/**
 * The claim statement alone, on each database in turn (small, history, history, small, …), on a pending task of a
 * model no sender serves, so only these claims take its links.
 */
export async function timeClaims(
  small: Client,
  history: Client,
  options: { claims: number; batchSize: number; model: string },
): Promise<SideBySide> {
  const claim = (client: Client) => () =>
    client.query(CLAIM_SQL, [[options.model], options.batchSize, 'bench-scale', 300]);
  for (const client of [small, history]) for (let i = 0; i < 3; i++) await claim(client)();
  const ms = { small: [] as number[], history: [] as number[] };
  for (let i = 0; i < options.claims; i++) {
    const order: ('small' | 'history')[] = i % 2 === 0 ? ['small', 'history'] : ['history', 'small'];
    for (const side of order) ms[side].push(await timed(claim(side === 'small' ? small : history)));
  }
  return {
    name: `claim statement (${options.batchSize} links)`,
    small: latency(ms.small),
    history: latency(ms.history),
  };
}

export interface Endpoint {
  name: string;
  small: string;
  history: string;
}

/** GET requests, the two sides alternating request by request; each body is read to its end. */
export async function timeRequests(endpoints: Endpoint[], requests: number): Promise<SideBySide[]> {
  const get = (url: string) => async () => {
    const response = await fetch(url);
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  };
  const results: SideBySide[] = [];
  for (const endpoint of endpoints) {
    for (let i = 0; i < 5; i++) {
      await get(endpoint.small)();
      await get(endpoint.history)();
    }
    const ms = { small: [] as number[], history: [] as number[] };
    for (let i = 0; i < requests; i++) {
      const order: ('small' | 'history')[] = i % 2 === 0 ? ['small', 'history'] : ['history', 'small'];
      for (const side of order) ms[side].push(await timed(get(endpoint[side])));
    }
    results.push({ name: endpoint.name, small: latency(ms.small), history: latency(ms.history) });
  }
  return results;
}

/** A few requests only: for what the old way (OFFSET) costs, next to the keyset page. */
export async function timeSlowRequest(url: string, requests: number): Promise<Latency> {
  const ms: number[] = [];
  for (let i = 0; i < requests; i++) {
    ms.push(
      await timed(async () => {
        const response = await fetch(url);
        await response.arrayBuffer();
      }),
    );
  }
  return latency(ms);
}

export interface ExportRun {
  vectors: number;
  megabytes: number;
  seconds: number;
  vectorsPerSecond: number;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  rssGrowthMiB: number;
}

/**
 * The service in a child process (src/main.ts, sender off) on the history database, and one streamed export of the
 * big task read to its end, with the child's resident set sampled every 20 ms.
 */
export async function runExport(databaseUrl: string, taskId: number): Promise<ExportRun> {
  const service = await startService({ DATABASE_URL: databaseUrl, SENDER_ENABLED: 'false' });
  try {
    const pid = service.child.pid!;
    await fetch(`${service.url}/tasks/${taskId}`).then((response) => response.arrayBuffer());
    const rssBeforeMiB = await rssMiB(pid);
    let rssPeakMiB = rssBeforeMiB;
    const sampler = setInterval(() => {
      void rssMiB(pid).then(
        (rss) => (rssPeakMiB = Math.max(rssPeakMiB, rss)),
        () => undefined,
      );
    }, 20);
    const started = performance.now();
    let bytes = 0;
    let vectors = 0;
    try {
      const response = await fetch(`${service.url}/tasks/${taskId}/embeddings`);
      if (!response.ok || !response.body) throw new Error(`export: HTTP ${response.status}`);
      for await (const piece of response.body) {
        bytes += piece.length;
        for (let at = piece.indexOf(0x0a); at !== -1; at = piece.indexOf(0x0a, at + 1)) vectors++;
      }
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      vectors,
      megabytes: bytes / 1e6,
      seconds,
      vectorsPerSecond: vectors / seconds,
      rssBeforeMiB,
      rssPeakMiB,
      rssGrowthMiB: rssPeakMiB - rssBeforeMiB,
    };
  } finally {
    service.child.kill('SIGTERM');
    await service.exited;
  }
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kib / 1024;
}
