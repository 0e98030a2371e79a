import { answer, LoopbackServer, loopbackServer } from '../../../../../test/loopback-server';
import { RemoteRequestError } from '../remote-request-error';
import { TeiClient } from './tei-client';

/** What TEI's router answers, one status at a time, on a loopback server. */
describe('TeiClient', () => {
  let server: LoopbackServer;
  let client: TeiClient;

  beforeAll(async () => {
    server = await loopbackServer();
    client = new TeiClient({ url: server.url, apiKey: 'k', timeoutMs: 300 });
  });
  afterAll(() => server.close());
  const body = { inputs: ['a', 'b'], truncate: true, normalize: true };

  async function failure(): Promise<RemoteRequestError> {
    const error = await client.embed(body).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RemoteRequestError);
    return error as RemoteRequestError;
  }

  it('posts the body with the bearer key and answers Float32Arrays', async () => {
    let seen: { auth?: string; body?: string } = {};
    server.handler = (req, res, text) => {
      seen = { auth: req.headers.authorization, body: text };
      res.writeHead(200).end(
        JSON.stringify([
          [1, 2],
          [3, 4],
        ]),
      );
    };
    expect(await client.embed(body)).toEqual([Float32Array.of(1, 2), Float32Array.of(3, 4)]);
    expect(seen).toEqual({ auth: 'Bearer k', body: JSON.stringify(body) });
  });

  it.each([
    [429, { error: 'Model is overloaded', error_type: 'overloaded' }, 'rate-limited', true],
    [503, { error: 'unhealthy', error_type: 'unhealthy' }, 'transient', false],
    [424, { error: 'Inference failed', error_type: 'backend' }, 'transient', false],
    [413, { error: 'batch size 64 > maximum allowed batch size 32', error_type: 'validation' }, 'too-large', false],
    [413, 'Failed to buffer the request body: length limit exceeded', 'too-large', false],
    [
      413,
      {
        error: 'Input validation error: `inputs` must have less than 512 tokens. Given: 900',
        error_type: 'Validation',
      },
      'input',
      false,
    ],
    [422, { error: 'Tokenization error', error_type: 'tokenizer' }, 'input', false],
    [401, '', 'fatal', false],
  ] as const)('classifies %i %j as %s, keeping TEI’s error in the message', async (status, reply, kind, congestion) => {
    server.handler = answer(status, reply);
    const error = await failure();
    expect(error.kind).toBe(kind);
    expect(error.congestion).toBe(congestion);
    expect(error.details.status).toBe(status);
    if (typeof reply !== 'string') expect(error.message).toContain(`${reply.error_type}: ${reply.error}`);
  });

  it('reads the batch limit TEI names, and Retry-After', async () => {
    server.handler = answer(413, { error: 'batch size 64 > maximum allowed batch size 32', error_type: 'validation' });
    expect((await failure()).details.maxInputs).toBe(32);
    server.handler = answer(429, { error: 'Model is overloaded', error_type: 'overloaded' }, { 'retry-after': '2' });
    expect((await failure()).details.retryAfterMs).toBe(2000);
  });

  it('a request past the time limit is a transient congestion signal', async () => {
    server.handler = (_, res) => void setTimeout(() => res.writeHead(200).end('[[1],[2]]'), 1000);
    const error = await failure();
    expect(error).toMatchObject({ kind: 'transient', congestion: true, status: 'timeout' });
    expect(error.message).toContain('within 300 ms');
  });

  it('a reset connection is transient, named as a network failure', async () => {
    server.handler = (req) => void req.socket.destroy();
    expect(await failure()).toMatchObject({ kind: 'transient', congestion: false, status: 'network' });
  });

  it('an answer with the wrong number of vectors is transient', async () => {
    server.handler = answer(200, [[1]]);
    expect((await failure()).message).toBe('TEI answered 1 rows for 2 inputs to /embed');
  });

  it("refuses an /info that is not TEI's", async () => {
    server.handler = answer(200, { hello: 'world' });
    await expect(client.info()).rejects.toMatchObject({ kind: 'fatal' });
  });
});
