import { createServer } from 'node:net';
import { DatabaseUnreachableError, hostAndPort, waitForDatabase } from './wait-for-database';

describe('hostAndPort', () => {
  it('names the server without user or password', () => {
    expect(hostAndPort('postgres://u:secret@db.internal:6543/app')).toBe('db.internal:6543');
    expect(hostAndPort('postgresql://u:secret@db/app')).toBe('db:5432');
    expect(hostAndPort('postgres://u:secret@/app?host=/var/run/postgresql')).toBe('/var/run/postgresql:5432');
    expect(hostAndPort('postgres://u:p%40ss@[::1]:5433/app')).toBe('[::1]:5433');
  });
});

describe('waitForDatabase', () => {
  it('reports every failed attempt, then gives up naming host:port and not the password', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve)); // nothing listens there now
    const warnings: string[] = [];
    const waiting = waitForDatabase(`postgres://u:hunter2@127.0.0.1:${port}/db`, {
      waitMs: 300,
      retryMs: 100,
      warn: (line) => warnings.push(line),
      log: (line) => warnings.push(line),
    });
    await expect(waiting).rejects.toThrow(DatabaseUnreachableError);
    await expect(waiting).rejects.toThrow(
      new RegExp(`^Database at 127\\.0\\.0\\.1:${port} unreachable for 0 s .*ECONNREFUSED`),
    );
    expect(warnings.length).toBeGreaterThanOrEqual(2);
    expect(warnings[0]).toMatch(
      new RegExp(`^Database at 127\\.0\\.0\\.1:${port} not reachable \\(attempt 1: .*ECONNREFUSED`),
    );
    expect(warnings.join('\n')).not.toContain('hunter2');
  });

  it('returns at once, saying nothing, when the database answers', async () => {
    const lines: string[] = [];
    await waitForDatabase(process.env.TEST_SERVER_URL!, {
      waitMs: 5000,
      warn: (l) => lines.push(l),
      log: (l) => lines.push(l),
    });
    expect(lines).toEqual([]);
  });
});
