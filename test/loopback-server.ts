import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** Answers one request; `body` is the request's whole body. */
export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** An HTTP server on 127.0.0.1 (a free port) whose answer each test sets, for the remote back ends' clients. */
export interface LoopbackServer {
  url: string;
  handler: Handler;
  close(): Promise<void>;
}

export async function loopbackServer(): Promise<LoopbackServer> {
  const noAnswer: Handler = () => undefined;
  const loopback = { handler: noAnswer } as LoopbackServer;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => loopback.handler(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  loopback.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  loopback.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return loopback;
}

/** Answers `status` with `body` (JSON unless a string) and these headers. */
export const answer =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_, res) =>
    void res.writeHead(status, headers).end(typeof body === 'string' ? body : JSON.stringify(body));
