import { IncomingMessage } from 'node:http';
import { isProbe, serializeRequest, serializeResponse } from './access-log';

describe('access log', () => {
  it('keeps only the allowed request fields and headers, and the path without its query', () => {
    const line = serializeRequest({
      id: 'r1',
      method: 'POST',
      url: '/tasks?token=secret-in-query',
      headers: {
        'content-type': 'application/json',
        'content-length': '12',
        'user-agent': 'curl/8',
        authorization: 'Bearer a',
        'proxy-authorization': 'Basic b',
        cookie: 'session=c',
        'x-api-key': 'd',
        'x-future-credential': 'e',
      },
    });
    expect(line).toEqual({
      id: 'r1',
      method: 'POST',
      url: '/tasks',
      headers: { 'content-type': 'application/json', 'content-length': '12', 'user-agent': 'curl/8' },
    });
  });

  it('keeps the status and content headers of an answer, never Set-Cookie', () => {
    const line = serializeResponse({
      statusCode: 201,
      headers: { 'content-type': 'application/json', 'set-cookie': 'session=c', 'x-request-id': 'r1' },
    });
    expect(line).toEqual({ statusCode: 201, headers: { 'content-type': 'application/json' } });
  });

  it.each([
    ['GET', '/health/live', true],
    ['GET', '/health/ready?verbose=1', true],
    ['GET', '/health', true],
    ['GET', '/ping', true],
    ['GET', '/', true],
    ['HEAD', '/', true],
    ['GET', '/metrics', true],
    ['POST', '/', false],
    ['GET', '/info', false],
    ['GET', '/tasks', false],
    ['GET', '/healthy', false],
  ])('%s %s is a probe: %s', (method, url, probe) => {
    expect(isProbe({ method, url } as IncomingMessage)).toBe(probe);
  });
});
