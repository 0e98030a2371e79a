import { gzipSync } from 'node:zlib';

/**
 * Issue 20's attacks as a chaos kind: each is sent to one sender's API, which must answer it (a refusal is fine,
 * 5xx other than 503 is not) and stay up. The bodies are built once; only the soak's tiny model is served.
 */
export interface HostileRequest {
  name: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** How many are sent at once. */
  times: number;
}

const words = (count: number, seed: number) =>
  Array.from({ length: count }, (_, index) => ['water', 'people', 'number', 'sound'][(index + seed) % 4]).join(' ');
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** Built on first use: about 50 MB of bodies, kept for the whole soak. */
let requests: HostileRequest[] | undefined;

export function hostileRequests(): HostileRequest[] {
  requests ??= [
    {
      name: 'gzip numbers',
      path: '/tasks',
      headers: { 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.from(`{"chunks":[${'0,'.repeat(8_000_000 - 1)}0]}`), { level: 9 }),
      times: 2,
    },
    {
      name: 'largest /tokenize',
      path: '/tokenize',
      headers: {},
      body: json({ inputs: Array.from({ length: 2048 }, (_, index) => words(1300, index).slice(0, 7800)) }),
      times: 2,
    },
    {
      name: 'issue /embed_all',
      path: '/embed_all',
      headers: {},
      body: json({ inputs: Array.from({ length: 168 }, (_, index) => words(1500, index).slice(0, 8600)) }),
      times: 4,
    },
    {
      // Sized at about 10 MB on the tiny model: admitted, and sent in slices.
      name: 'large /embed_all',
      path: '/embed_all',
      headers: {},
      body: json({ inputs: Array.from({ length: 200 }, (_, index) => words(80, index)) }),
      times: 4,
    },
    {
      // The largest body the limits allow, refused by validation at its very end: all the parsing, no task.
      name: '16 MB POST /tasks (invalid)',
      path: '/tasks',
      headers: {},
      body: json({
        name: 'hostile',
        model: 'tiny',
        chunks: [...Array.from({ length: 9_999 }, (_, index) => ({ text: words(300, index).slice(0, 1500) })), {}],
      }),
      times: 2,
    },
  ];
  return requests;
}

/** Sends `request` to `apiUrl` `times` at once; answers each status, or `reset` when the connection broke. */
export async function sendHostile(apiUrl: string, request: HostileRequest): Promise<string[]> {
  return Promise.all(
    Array.from({ length: request.times }, async () => {
      try {
        const res = await fetch(`${apiUrl}${request.path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...request.headers },
          body: request.body,
          signal: AbortSignal.timeout(120_000),
        });
        await res.arrayBuffer();
        return String(res.status);
      } catch (error) {
        return error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'reset';
      }
    }),
  );
}

/** An answer that says the service failed under the attack rather than refused it. */
export const isFailure = (status: string): boolean =>
  status === 'reset' || status === 'timeout' || (status.startsWith('5') && status !== '503');
