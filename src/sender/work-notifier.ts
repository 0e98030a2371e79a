import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { describeError } from '../logging/safe-error';

export const WORK_CHANNEL = 'embedding_tasks_work';
const RECONNECT_MS = 5_000;

/**
 * LISTENs on the channel a trigger notifies when links are inserted (by the API or by plain SQL), so an idle
 * sender wakes at once instead of at its next poll. A lost connection is retried; polling covers the gap. Without
 * a URL it does nothing, and polling alone finds new work.
 */
export class WorkNotifier {
  private readonly logger = new Logger('Sender');
  private client?: Client;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;

  constructor(
    private readonly url: string | undefined,
    private readonly onWork: () => void,
  ) {}

  async start(): Promise<void> {
    if (!this.url) return;
    const client = new Client({ connectionString: this.url, application_name: 'embedding-tasks-listener' });
    client.on('notification', () => this.onWork());
    client.on('error', (error) => this.reconnect(error));
    try {
      await client.connect();
      await client.query(`LISTEN ${WORK_CHANNEL}`);
      this.client = client;
    } catch (error) {
      this.reconnect(error);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }

  private reconnect(error: unknown): void {
    if (this.stopped) return;
    this.logger.warn(`work notifications lost (${describeError(error)}); polling until back`);
    this.client?.end().catch(() => undefined);
    this.client = undefined;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.start(), RECONNECT_MS);
    this.retryTimer.unref();
  }
}
