import { connect, createServer, Server, Socket } from 'node:net';

/**
 * A TCP relay on loopback in front of PostgreSQL, standing for a second route to the database (PgBouncer, or a
 * direct host). It counts the connections it carries and the local ports of its upstream sockets, which
 * pg_stat_activity shows as client_port, so a test can tell which backend came through it.
 */
export class TcpProxy {
  connections = 0;
  /** A database host that went silent: new connections are accepted and never answered. */
  silent = false;
  readonly upstreamPorts = new Set<number>();
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  /** Listens on `port` (0: one the OS picks), or on this relay's port again after pause(). */
  async start(port = this.port): Promise<void> {
    this.server = createServer((client) => this.relay(client));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** A database outage as clients see it: open connections cut, new ones refused, until resume(). */
  pause(): Promise<void> {
    return this.stop();
  }

  resume(): Promise<void> {
    return this.start(this.port);
  }

  /** `url` with its host and port replaced by this relay's. */
  url(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** Cuts the connections it carries; with `silent`, the new ones then hang. */
  cutConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  private relay(client: Socket): void {
    this.connections++;
    if (this.silent) {
      this.sockets.add(client.on('error', () => undefined).on('close', () => this.sockets.delete(client)));
      return;
    }
    const upstream = connect(this.target.port, this.target.host, () => this.upstreamPorts.add(upstream.localPort!));
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
