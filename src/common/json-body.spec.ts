import express, { NextFunction, Request, Response } from 'express';
import { AddressInfo } from 'node:net';
import { Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { jsonBodyParser, ParseTurns } from './json-body';

/** The parser in a real express app on a loopback port: each request answers what the parser made of its body. */
describe('jsonBodyParser', () => {
  let server: Server;
  let url: string;
  /** The order in which large bodies were parsed, and whether a turn of the event loop ran before each. */
  const parsed: string[] = [];

  beforeAll(async () => {
    const app = express();
    app.use(jsonBodyParser({ bodyLimit: '16mb', maxJsonValues: 1000 }));
    app.post('/', (request: Request, response: Response) => {
      const body = request.body as unknown;
      if (body && typeof body === 'object' && 'name' in body) parsed.push(String(body.name));
      response.json({ body: body === undefined ? 'unread' : body });
    });
    app.use(
      (
        error: Error & { cause?: unknown; getStatus?: () => number },
        _q: Request,
        response: Response,
        _n: NextFunction,
      ) => {
        response
          .status(error.getStatus?.() ?? 500)
          .json({ message: error.message, syntax: error.cause instanceof SyntaxError });
      },
    );
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const post = async (body: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('parses a JSON object or array, a gzip one, one with a byte order mark; an empty body is {}', async () => {
    expect(await post('{"a":[1,2]}')).toEqual({ status: 200, json: { body: { a: [1, 2] } } });
    expect(await post(' [1] ')).toEqual({ status: 200, json: { body: [1] } });
    expect(await post(gzipSync('{"z":true}'), { 'content-encoding': 'gzip' })).toEqual({
      status: 200,
      json: { body: { z: true } },
    });
    expect(await post('\uFEFF{"b":"é"}')).toEqual({ status: 200, json: { body: { b: 'é' } } });
    expect(await post('')).toEqual({ status: 200, json: { body: {} } });
  });

  it('refuses a body that is not an object or array, or not JSON, as a SyntaxError (400)', async () => {
    expect(await post('123')).toEqual({
      status: 400,
      json: { message: "the request body must be a JSON object or array, not start with '1'", syntax: true },
    });
    expect(await post('{"a":')).toMatchObject({ status: 400, json: { syntax: true } });
    expect(await post(Buffer.from([0x7b, 0xff, 0x7d]))).toMatchObject({
      status: 400,
      json: { message: 'the request body is not valid UTF-8', syntax: true },
    });
    expect(await post('{"a":1,"a":2}')).toMatchObject({ status: 400, json: { syntax: true } });
    expect(await post(`[${'0,'.repeat(2000)}0]`)).toMatchObject({ status: 413, json: { syntax: false } });
  });

  it('leaves a body of another type unread', async () => {
    expect(await post('{"a":1}', { 'content-type': 'text/plain' })).toEqual({ status: 200, json: { body: 'unread' } });
  });

  it('parses large bodies whole, however many arrive at once', async () => {
    const large = (name: string) => JSON.stringify({ name, text: name.repeat(300_000) });
    parsed.length = 0;
    const names = ['a', 'b', 'c', 'd'];
    const answers = await Promise.all(names.map((name) => post(large(name))));
    answers.forEach((answer, index) =>
      expect((answer.json.body as { text: string }).text).toBe(names[index].repeat(300_000)),
    );
    expect([...parsed].sort()).toEqual(names);
  });
});

describe('ParseTurns', () => {
  it('runs each parse in a turn of its own, so that other work runs between them, and passes errors on', async () => {
    const turns = new ParseTurns();
    const events: string[] = [];
    // Other work that is ready at the same time: it must get a turn between the parses.
    const others = () => setImmediate(() => events.push('other'));
    others();
    const done = Promise.all(
      [1, 2, 3].map((n) =>
        turns.run(() => {
          events.push(`parse ${n}`);
          others();
          return n;
        }),
      ),
    );
    const failed = turns.run(() => {
      throw new SyntaxError('bad');
    });
    expect(await done).toEqual([1, 2, 3]);
    await expect(failed).rejects.toThrow('bad');
    const parses = events.map((event, index) => [event, index] as const).filter(([event]) => event.startsWith('parse'));
    expect(parses.map(([event]) => event)).toEqual(['parse 1', 'parse 2', 'parse 3']);
    for (let i = 1; i < parses.length; i++) expect(events.slice(parses[i - 1][1] + 1, parses[i][1])).toContain('other');
  });
});
