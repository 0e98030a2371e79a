import { IncomingMessage } from 'node:http';

/**
 * What an access line says about a request and its answer: named fields only (an allow-list), so no credential
 * header (Authorization, Proxy-Authorization, Cookie, x-api-key, or one added later) and no query string (which
 * may carry a token) ever reaches a log. Bodies are never logged.
 */
const REQUEST_HEADERS = ['content-type', 'content-length', 'user-agent'] as const;
const RESPONSE_HEADERS = ['content-type', 'content-length'] as const;

/** pino's standard serialization of a request, which pino-http hands to a custom serializer. */
interface SerializedRequest {
  id?: unknown;
  method?: string;
  url?: string;
  headers?: Record<string, unknown>;
}

interface SerializedResponse {
  statusCode?: number;
  headers?: Record<string, unknown>;
}

const pick = (headers: Record<string, unknown> | undefined, names: readonly string[]) =>
  Object.fromEntries(names.filter((name) => headers?.[name] !== undefined).map((name) => [name, headers![name]]));

const pathOf = (url: string | undefined) => (url ?? '').split('?', 1)[0];

export function serializeRequest(req: SerializedRequest): Record<string, unknown> {
  return { id: req.id, method: req.method, url: pathOf(req.url), headers: pick(req.headers, REQUEST_HEADERS) };
}

export function serializeResponse(res: SerializedResponse): Record<string, unknown> {
  return { statusCode: res.statusCode, headers: pick(res.headers, RESPONSE_HEADERS) };
}

/** Probes: the service's own (/health/live, /health/ready), TEI's (GET /health, /ping, /) and metrics scrapes. */
const PROBE_PATHS = /^\/(health(\/.*)?|ping|metrics(\/.*)?)?$/;

/** Probes would drown the access log; their failures still show in the readiness answer. */
export const isProbe = (req: IncomingMessage) =>
  (req.method === 'GET' || req.method === 'HEAD') && PROBE_PATHS.test(pathOf(req.url));
