import { DataSource } from 'typeorm';
import { startTestApp, TestApp } from './app';

/** docs/exports.md, "The pool budget": a pool busy to its last connection is not a database that is down. */
describe('Readiness with a saturated pool (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ SENDER_ENABLED: 'false', DATABASE_POOL_SIZE: '2', HEALTH_CHECK_TIMEOUT_MS: '2000' });
  });
  afterAll(() => t.close());

  it('answers ready on its own connection while every pooled connection is busy for longer than its time limit', async () => {
    const sql = t.app.get(DataSource);
    // Both pooled connections, busy for longer than the readiness check may take (HEALTH_CHECK_TIMEOUT_MS).
    const busy = [sql.query(`SELECT pg_sleep(5)`), sql.query(`SELECT pg_sleep(5)`)];
    const [sessions] = await waitForBusy(sql);
    expect(sessions).toBeGreaterThanOrEqual(2);
    const ready = await t.http().get('/health/ready').expect(200);
    expect(ready.body.info.database).toMatchObject({ status: 'up', migrations: 'applied' });
    await Promise.all(busy);
  });
});

/** The sleeping sessions, seen from outside the pool (the readiness probe's own connection would do as well). */
async function waitForBusy(sql: DataSource): Promise<[number]> {
  const { Client } = await import('pg');
  const url = (sql.options as { url?: string }).url;
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    for (;;) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep%'
         AND state = 'active' AND pid <> pg_backend_pid()`,
      );
      if (rows[0].n >= 2) return [rows[0].n];
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await client.end();
  }
}
