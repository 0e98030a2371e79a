import { AddressInfo } from 'node:net';
import { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { createApp } from '../src/app.factory';
import { AppConfig } from '../src/config/app-config';
import { loadConfig } from '../src/config/config.loader';
import { ensureModel } from './fixtures/model/make-model';
import { createTestDatabase, TestDatabase } from './database';
import { TestReceiver } from './processes';

export interface TestApp {
  app: NestExpressApplication;
  db: TestDatabase;
  config: AppConfig;
  http: () => ReturnType<typeof request>;
  /** Listens on a free loopback port (port 0) and answers the base URL, e.g. `http://127.0.0.1:41234`. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** The real application on a fresh database of its own, with the given environment over the defaults. */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const config = loadConfig({ LOG_LEVEL: 'warn', ...env, DATABASE_URL: db.url });
  const app = await createApp(config);
  return {
    app,
    db,
    config,
    http: () => request(app.getHttpServer()),
    listen: async () => {
      await app.listen(0, '127.0.0.1');
      return `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    },
    close: async () => {
      await app.close();
      await db.drop();
    },
  };
}

/** The real app serving the generated `tiny` test model as `tiny`. */
export async function startTinyModelApp(env: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp({ EMBEDDING_MODELS: `tiny=${await ensureModel('tiny')}`, ...env });
}

/**
 * The real app serving the tiny model, listening on loopback, whose sender delivers over HTTP to a TestReceiver that
 * forwards to this same app's built-in receiver: deliveries can then be slowed down, refused and counted.
 */
export async function startAppWithTestReceiver(
  env: Record<string, string> = {},
): Promise<{ t: TestApp; receiver: TestReceiver }> {
  const receiver = new TestReceiver('');
  await receiver.start();
  const t = await startTinyModelApp({ RECEIVER_URL: receiver.url, ...env });
  receiver.forwardTo = await t.listen();
  const close = t.close.bind(t);
  t.close = async () => {
    await close();
    await receiver.stop();
  };
  return { t, receiver };
}
