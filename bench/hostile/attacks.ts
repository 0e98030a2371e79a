import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';

/** What every attack may use. */
export interface AttackContext {
  url: string;
  key: string;
  model: string;
  /** A completed task with stored vectors, for the exports. */
  exportTaskId: number;
}

/** One attack of issue 20: built once (bodies ready before the clock starts), then sent; answers the statuses. */
export interface Attack {
  name: string;
  prepare(context: AttackContext): () => Promise<string[]>;
}

const TIMEOUT_MS = 300_000;

/** Sends `body` `times` at once and reads each answer whole (without parsing it); answers each status. */
function concurrently(
  context: AttackContext,
  times: number,
  path: string,
  body: Buffer,
  headers: Record<string, string>,
): () => Promise<string[]> {
  return () =>
    Promise.all(
      Array.from({ length: times }, async () => {
        try {
          const res = await fetch(`${context.url}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body,
            signal: AbortSignal.timeout(TIMEOUT_MS),
          });
          await res.arrayBuffer();
          return String(res.status);
        } catch (error) {
          return error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'reset';
        }
      }),
    );
}

const authorized = (context: AttackContext) => ({ authorization: `Bearer ${context.key}` });
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** Words the minilm test model reads as one token each: a text of `tokens` words is about that many tokens. */
const words = (count: number, seed: number) =>
  Array.from({ length: count }, (_, index) => ['water', 'people', 'number', 'sound'][(index + seed) % 4]).join(' ');

/** Issue 20's first attack: 15.6 KB of gzip that inflates to a valid 16 MB body of 8M numbers, without a key. */
const gzipNumbers: Attack = {
  name: 'unauthenticated gzip numbers x4',
  prepare: (context) => {
    const body = gzipSync(Buffer.from(`{"chunks":[${'0,'.repeat(8_000_000 - 1)}0]}`), { level: 9 });
    return concurrently(context, 4, '/tasks', body, { 'content-encoding': 'gzip' });
  },
};

/**
 * Twelve exports whose client sends the request and never reads: the answer fills the socket's buffers and stalls.
 * They are held while the other routes are probed, then dropped.
 */
const stalledExports: Attack = {
  name: '12 stalled exports (held 15 s)',
  prepare: (context) => async () => {
    const { hostname, port } = new URL(context.url);
    const sockets = Array.from({ length: 12 }, () => {
      const socket = connect({ host: hostname, port: Number(port) });
      socket.write(
        `GET /tasks/${context.exportTaskId}/embeddings HTTP/1.1\r\nHost: ${hostname}\r\n` +
          `Authorization: Bearer ${context.key}\r\n\r\n`,
      );
      socket.pause();
      socket.on('error', () => undefined);
      return socket;
    });
    await new Promise((done) => setTimeout(done, 15_000));
    const statuses = sockets.map((socket) => (socket.destroyed ? 'closed by server' : 'stalled'));
    sockets.forEach((socket) => socket.destroy());
    return statuses;
  },
};

/** Issue 20's /tokenize: 2,048 inputs of 7.8K characters (16 MB), eight at once. */
const largestTokenize: Attack = {
  name: 'largest /tokenize x8',
  prepare: (context) => {
    const inputs = Array.from({ length: 2048 }, (_, index) => `${index} ${words(1560, index)}`.slice(0, 7800));
    return concurrently(context, 8, '/tokenize', json({ inputs }), authorized(context));
  },
};

/** Issue 20's /embed_all: a 1.45 MB request for a 330 MB answer (168 inputs cut to 256 tokens), eight at once. */
const issueEmbedAll: Attack = {
  name: 'issue /embed_all (1.45 MB in) x8',
  prepare: (context) => {
    const inputs = Array.from({ length: 168 }, (_, index) => words(1500, index).slice(0, 8600));
    return concurrently(context, 8, '/embed_all', json({ inputs }), authorized(context));
  },
};

/**
 * The largest /embed_all that HTTP_RESPONSE_LIMIT (64 MB) admits on minilm (256 tokens of 384 numbers an input):
 * 28 inputs, sized at 66.5 MB of the 67.1 MB limit.
 */
const nearLimitEmbedAll: Attack = {
  name: 'largest admitted /embed_all x8',
  prepare: (context) => {
    const inputs = Array.from({ length: 28 }, (_, index) => words(300, index));
    return concurrently(context, 8, '/embed_all', json({ inputs }), authorized(context));
  },
};

/** The largest POST /tasks the limits allow (10,000 chunks of 1,500 characters, about 15.6 MB), four at once. */
const largestTasks: Attack = {
  name: '16 MB POST /tasks x4',
  prepare: (context) => {
    const filler = words(400, 0);
    const chunks = Array.from({ length: 10_000 }, (_, index) => ({ text: `${index} ${filler}`.slice(0, 1500) }));
    const body = json({ name: 'hostile', model: context.model, chunks });
    return concurrently(context, 4, '/tasks', body, authorized(context));
  },
};

/** In this order: the big tasks last, since the sender then embeds their 40,000 chunks. */
export const ATTACKS: Attack[] = [
  gzipNumbers,
  stalledExports,
  largestTokenize,
  issueEmbedAll,
  nearLimitEmbedAll,
  largestTasks,
];
