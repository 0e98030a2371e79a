import { NestExpressApplication } from '@nestjs/platform-express';
import { Client } from 'pg';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/config/config.loader';
import { ensureModel } from './fixtures/model/make-model';
import { sleep } from '../src/common/backoff';
import { MetricsService } from '../src/metrics/metrics.service';
import { createTestDatabase, TestDatabase } from './database';
import { Scrape } from './metrics';
import { TcpProxy } from './tcp-proxy';
import { waitFor } from './wait';

/**
 * Behind PgBouncer in transaction mode LISTEN does not work: a sender then LISTENs on its own direct connection
 * (DATABASE_LISTEN_URL) or not at all (SENDER_LISTEN_ENABLED=false, polling alone). Here a TCP relay stands for the
 * direct route, and the poll interval is far off, so only a notification can wake the sender quickly.
 */
describe('the LISTEN connection of a sender (e2e)', () => {
  const POLL_NEVER = '600000';
  let db: TestDatabase;
  let sql: Client;
  let app: NestExpressApplication | undefined;
  let model: string;

  beforeAll(async () => {
    model = await ensureModel('tiny');
    db = await createTestDatabase();
    sql = new Client({ connectionString: db.url });
    await sql.connect();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(async () => {
    await sql.end();
    await db.drop();
  });

  async function start(env: Record<string, string>): Promise<void> {
    const config = loadConfig({ LOG_LEVEL: 'warn', EMBEDDING_MODELS: `tiny=${model}`, ...env, DATABASE_URL: db.url });
    app = await createApp(config);
    // The sender's first claim runs just after start-up: work inserted before it ends would be found without a wake.
    await waitFor(async () => {
      const scrape = new Scrape(await app!.get(MetricsService).metrics());
      const claims = (stage: string) => scrape.value('embedding_tasks_stage_duration_seconds_count', { stage }) ?? 0;
      return claims('claim') + claims('claim_empty') > 0 ? true : undefined;
    });
  }

  /** A task of n chunks for the tiny model, inserted with plain SQL (the insert trigger notifies). */
  async function insertTask(n: number): Promise<number> {
    const { rows } = await sql.query(
      `WITH t AS (INSERT INTO mgmt.task (name, model) VALUES ('sql', 'tiny') RETURNING id),
            c AS (INSERT INTO mgmt.embed_chunk (text) SELECT 'listen ' || g || ' ' || random() FROM generate_series(1, $1::int) g RETURNING id)
       INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) SELECT t.id, c.id FROM t, c RETURNING task_id`,
      [n],
    );
    return rows[0].task_id;
  }

  const taskStatus = async (id: number) =>
    (await sql.query(`SELECT status FROM mgmt.task WHERE id = $1`, [id])).rows[0].status;
  const completed = (id: number) =>
    waitFor(async () => ((await taskStatus(id)) === 'completed' ? true : undefined), 20_000);

  /** Backends of this database by application_name (the pool is embedding-tasks, the LISTEN one -listener). */
  async function backends(applicationName: string): Promise<number[]> {
    const { rows } = await sql.query(
      `SELECT client_port FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
      [applicationName],
    );
    return rows.map((row) => row.client_port);
  }

  it('DATABASE_LISTEN_URL carries the one LISTEN connection, and work inserted by SQL wakes the sender through it', async () => {
    const server = new URL(db.url);
    const direct = new TcpProxy({ host: server.hostname, port: Number(server.port) });
    await direct.start();
    await start({ DATABASE_LISTEN_URL: direct.url(db.url), SENDER_POLL_INTERVAL_MS: POLL_NEVER });

    expect(direct.connections).toBe(1);
    const listeners = await backends('embedding-tasks-listener');
    expect(listeners).toHaveLength(1);
    expect(direct.upstreamPorts.has(listeners[0])).toBe(true);
    expect((await backends('embedding-tasks')).filter((port) => direct.upstreamPorts.has(port))).toEqual([]);

    const id = await insertTask(20);
    await completed(id);
    await app!.close();
    app = undefined;
    await direct.stop();
  }, 60_000);

  it('SENDER_LISTEN_ENABLED=false holds no LISTEN connection, and polling alone finds new work', async () => {
    await start({ SENDER_LISTEN_ENABLED: 'false', SENDER_POLL_INTERVAL_MS: '200' });
    expect(await backends('embedding-tasks-listener')).toEqual([]);
    const id = await insertTask(20);
    await completed(id);
  }, 60_000);

  it('without LISTEN and with polling far off, new work waits: the quick wake above came from NOTIFY', async () => {
    await start({ SENDER_LISTEN_ENABLED: 'false', SENDER_POLL_INTERVAL_MS: POLL_NEVER });
    const id = await insertTask(5);
    await sleep(3_000);
    expect(await taskStatus(id)).toBe('pending');
  }, 60_000);
});
