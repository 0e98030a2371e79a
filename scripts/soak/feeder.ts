import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { Journal } from './journal';

/** In every chunk text, so a log line that carries chunk text can be found. */
export const TEXT_MARKER = 'quokka';
/** In the text of the chunks the receiver always refuses. */
export const POISON_MARKER = 'POISON';
export const TASK_PREFIX = 'soak-';

export interface FeederOptions {
  model: string;
  poisonRate: number;
  maxChunksPerTask: number;
}

/** A task the service acknowledged (REST 201, or a committed SQL transaction), with the links it must hold. */
export interface FedTask {
  id: number;
  via: 'rest' | 'sql';
  links: number;
}

const WORDS = ['vector', 'chunk', 'lease', 'batch', 'receiver', 'retry', 'outage', 'table', 'index', 'model'];

/**
 * Adds work both ways the README documents: `POST /tasks` on a running sender's API, and plain SQL (a task, its
 * chunks and links in one transaction; sometimes new links into an earlier task, which reopens it). Refusals while
 * a process or the database is down are counted, not retried: what counts is what was acknowledged.
 */
export class Feeder {
  readonly fed = new Map<string, FedTask>();
  private client?: Client;
  private count = 0;

  constructor(
    private readonly databaseUrl: () => string,
    private readonly poisonHashes: Set<string>,
    private readonly options: FeederOptions,
    private readonly journal: Journal,
  ) {}

  async feedOne(apis: string[]): Promise<void> {
    const useRest = this.count++ % 2 === 0 && apis.length > 0;
    if (useRest) return this.viaRest(this.journal.pick(apis));
    const earlier = [...this.fed.entries()].filter(([, task]) => task.via === 'sql');
    if (earlier.length > 0 && this.journal.chance(0.25)) return this.sqlLinks(...this.journal.pick(earlier));
    return this.sqlTask();
  }

  async close(): Promise<void> {
    await this.client?.end().catch(() => undefined);
  }

  private texts(name: string): string[] {
    const n = Math.max(1, Math.round(this.journal.between(1, this.options.maxChunksPerTask)));
    return Array.from({ length: n }, (_, i) => {
      const poison = this.journal.chance(this.options.poisonRate) ? ` ${POISON_MARKER}` : '';
      const words = Array.from({ length: i % 9 }, (_, k) => WORDS[(i + k) % WORDS.length]).join(' ');
      const text = `${TEXT_MARKER} ${name} chunk ${i}${poison} ${words}`;
      // Known before the chunk exists, so no delivery can reach the receiver before it knows the poison.
      if (poison) this.poisonHashes.add(sha256(text));
      return text;
    });
  }

  private async viaRest(api: string): Promise<void> {
    const name = `${TASK_PREFIX}${this.count}`;
    const chunks = this.texts(name).map((text, i) => ({ text, metadata: i % 3 === 0 ? { i } : undefined }));
    try {
      const res = await fetch(`${api}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, model: this.options.model, chunks }),
        signal: AbortSignal.timeout(15_000),
      });
      if (res.status !== 201) return this.restRefused(String(res.status));
      const { id } = (await res.json()) as { id: number };
      this.fed.set(name, { id: Number(id), via: 'rest', links: chunks.length });
      this.journal.tally.restTasks++;
    } catch {
      this.restRefused('network');
    }
  }

  private restRefused(reason: string): void {
    const tally = this.journal.tally;
    tally.restRefused++;
    tally.restRefusedBy[reason] = (tally.restRefusedBy[reason] ?? 0) + 1;
  }

  private async sqlTask(): Promise<void> {
    const name = `${TASK_PREFIX}${this.count}`;
    await this.inTransaction(async (client) => {
      const task = await client.query(`INSERT INTO mgmt.task (name, model) VALUES ($1, $2) RETURNING id`, [
        name,
        this.options.model,
      ]);
      const id = Number(task.rows[0].id);
      const links = await this.insertLinks(client, id, this.texts(name));
      return () => this.fed.set(name, { id, via: 'sql', links });
    });
  }

  private async sqlLinks(name: string, task: FedTask): Promise<void> {
    await this.inTransaction(async (client) => {
      const links = await this.insertLinks(client, task.id, this.texts(`${name}+${this.count}`));
      return () => (task.links += links);
    });
  }

  private async insertLinks(client: Client, taskId: number, texts: string[]): Promise<number> {
    const chunks = await client.query(`INSERT INTO mgmt.embed_chunk (text) SELECT unnest($1::text[]) RETURNING id`, [
      texts,
    ]);
    const ids = chunks.rows.map((row: { id: string }) => row.id);
    await client.query(`INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) SELECT $1, unnest($2::bigint[])`, [
      taskId,
      ids,
    ]);
    return ids.length;
  }

  /** Runs `work` in a transaction; its returned callback records the result once COMMIT succeeded. */
  private async inTransaction(work: (client: Client) => Promise<() => void>): Promise<void> {
    try {
      const client = await this.connection();
      await client.query('BEGIN');
      const record = await work(client);
      await client.query('COMMIT');
      record();
      this.journal.tally.sqlTasks++;
    } catch {
      // A COMMIT whose answer was lost may still have committed: the final check reads the database, not this.
      this.journal.tally.sqlRefused++;
      await this.client?.end().catch(() => undefined);
      this.client = undefined;
    }
  }

  private async connection(): Promise<Client> {
    if (this.client) return this.client;
    const client = new Client({
      connectionString: this.databaseUrl(),
      application_name: 'soak-feeder',
      connectionTimeoutMillis: 3_000,
      query_timeout: 15_000,
    });
    client.on('error', () => undefined);
    await client.connect();
    this.client = client;
    return client;
  }
}

export const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
