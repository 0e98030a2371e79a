import { answer, LoopbackServer, loopbackServer } from '../../../../../test/loopback-server';
import { encodeFloat32Base64 } from '../../../../common/float32-base64';
import { RemoteRequestError } from '../remote-request-error';
import { OpenAiClient } from './openai-client';

/** What OpenAI-compatible servers answer, one case at a time, on a loopback server. */
describe('OpenAiClient', () => {
  let server: LoopbackServer;
  let client: OpenAiClient;

  beforeAll(async () => {
    server = await loopbackServer();
    client = new OpenAiClient({ url: `${server.url}/v1`, apiKey: 'sk-k', timeoutMs: 300 });
  });
  afterAll(() => server.close());
  const request = { model: 'm', input: ['a', 'b'] };

  async function failure(): Promise<RemoteRequestError> {
    const error = await client.embed(request).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RemoteRequestError);
    return error as RemoteRequestError;
  }

  it('posts to {url}/embeddings with the key and base64 asked, and reads vectors in index order and usage', async () => {
    let seen: { url?: string; auth?: string; body?: unknown } = {};
    server.handler = (req, res, body) => {
      seen = { url: req.url, auth: req.headers.authorization, body: JSON.parse(body) };
      const data = [
        { object: 'embedding', index: 1, embedding: encodeFloat32Base64(Float32Array.of(3, 4)) },
        { object: 'embedding', index: 0, embedding: encodeFloat32Base64(Float32Array.of(1, 2)) },
      ];
      res
        .writeHead(200, { 'x-ratelimit-limit-tokens': '1000', 'x-ratelimit-remaining-tokens': '990' })
        .end(JSON.stringify({ object: 'list', data, model: 'm', usage: { prompt_tokens: 7, total_tokens: 7 } }));
    };
    const result = await client.embed({ ...request, dimensions: 2 });
    expect(seen).toEqual({
      url: '/v1/embeddings',
      auth: 'Bearer sk-k',
      body: { model: 'm', input: ['a', 'b'], dimensions: 2, encoding_format: 'base64' },
    });
    expect(result.vectors).toEqual([Float32Array.of(1, 2), Float32Array.of(3, 4)]);
    expect(result.promptTokens).toBe(7);
    expect(result.limits).toMatchObject({ limitTokens: 1000, remainingTokens: 990 });
  });

  it('reads float arrays from a server that ignores encoding_format, and answers no usage when none is sent', async () => {
    server.handler = answer(200, { data: [{ embedding: [1, 2] }, { embedding: [3, 4] }] });
    const result = await client.embed(request);
    expect(result.vectors).toEqual([Float32Array.of(1, 2), Float32Array.of(3, 4)]);
    expect(result.promptTokens).toBeUndefined();
  });

  it.each([
    [
      429,
      { error: { message: 'Rate limit reached', type: 'tokens', param: null, code: 'rate_limit_exceeded' } },
      'rate-limited',
    ],
    [429, { error: { message: 'You exceeded your current quota', code: 'insufficient_quota' } }, 'fatal'],
    [400, { error: { message: "'$.input' is invalid", type: 'invalid_request_error', param: 'input' } }, 'input'],
    [400, { error: { message: 'dimensions not supported', param: 'dimensions' } }, 'request'],
    [422, { error: 'Tokenization error', error_type: 'tokenizer' }, 'input'],
    [413, { message: 'batch size 64 > maximum allowed batch size 32', code: 413, type: 'validation' }, 'too-large'],
    [424, { error: 'Inference failed', error_type: 'backend' }, 'transient'],
    [503, 'upstream overloaded', 'transient'],
    [401, { error: { message: 'Incorrect API key provided', code: 'invalid_api_key' } }, 'fatal'],
    [404, { error: { message: 'The model `m` does not exist', code: 'model_not_found' } }, 'fatal'],
  ] as const)('classifies %i %j as %s, keeping the message', async (status, body, kind) => {
    server.handler = answer(status, body);
    const error = await failure();
    expect(error.kind).toBe(kind);
    expect(error.details.status).toBe(status);
    expect(error.message).toMatch(new RegExp(`^the remote answered ${status}: `));
  });

  it('reads the batch limit TEI names, the param, and Retry-After', async () => {
    server.handler = answer(413, {
      message: 'batch size 64 > maximum allowed batch size 32',
      code: 413,
      type: 'validation',
    });
    expect((await failure()).details.maxInputs).toBe(32);
    server.handler = answer(429, { error: { message: 'slow down' } }, { 'retry-after': '2' });
    expect((await failure()).details.limits?.retryAfterMs).toBe(2000);
    server.handler = answer(400, { error: { message: 'bad', param: 'dimensions' } });
    expect((await failure()).details.param).toBe('dimensions');
  });

  it('a request past the time limit, a reset connection and a wrong count are transient', async () => {
    server.handler = (_, res) => void setTimeout(() => res.writeHead(200).end('{}'), 1000);
    expect(await failure()).toMatchObject({ kind: 'transient', status: 'timeout' });
    server.handler = (req) => void req.socket.destroy();
    expect(await failure()).toMatchObject({ kind: 'transient', status: 'network' });
    server.handler = answer(200, { data: [{ index: 0, embedding: [1] }] });
    expect((await failure()).message).toBe('the remote answered 1 embeddings for 2 inputs');
    server.handler = answer(200, 'not json');
    expect((await failure()).kind).toBe('transient');
  });
});
