import { Request, RequestHandler } from 'express';
import { leaveBodyUnread } from '../common/json-body';
import { presentsApiKey } from './api-key.guard';

const hasBody = (request: Request) =>
  request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;

/**
 * Runs before the body parser, as Envoy and nginx check credentials before they buffer a body: a request without
 * the API key (or with a wrong one) has its body left unread, so whatever it carries costs no inflating, parsing or
 * memory; the guard (api-key.guard.ts) then answers 401, or serves a public route, which takes no body. The answer
 * closes the connection: Node discards what is still in flight, and the client cannot keep the socket to send more.
 */
export function keyBeforeBody(apiKey: string | undefined): RequestHandler {
  return (request, response, next) => {
    if (presentsApiKey(request, apiKey)) return next();
    leaveBodyUnread(request);
    if (hasBody(request)) response.setHeader('Connection', 'close');
    next();
  };
}
