import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../test/database';
import { dataSourceOptions } from './database/data-source.options';
import { ENTITIES } from './entities';

describe('mgmt schema (real PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(dataSourceOptions({ url: db.url }, ENTITIES)).initialize();
  });
  afterAll(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  it('matches the entities exactly: a schema diff after the migrations is empty', async () => {
    const sql = await dataSource.driver.createSchemaBuilder().log();
    expect(sql.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('has no pending migration in the template', async () => {
    expect(await dataSource.showMigrations()).toBe(false);
  });

  it('accepts a minimal SQL insert and fills every other column', async () => {
    const [task] = await dataSource.query(`INSERT INTO mgmt.task (name, model) VALUES ('t', 'm') RETURNING *`);
    expect(task).toMatchObject({ status: 'pending', priority: 0, metadata: {}, last_error: null, started_at: null });
    const [chunk] = await dataSource.query(`INSERT INTO mgmt.embed_chunk (text) VALUES ('héllo') RETURNING *`);
    expect(chunk.content_hash).toBe(sha256('héllo'));
    const [link] = await dataSource.query(
      `INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) VALUES ($1, $2) RETURNING *`,
      [task.id, chunk.id],
    );
    expect(link).toMatchObject({ status: 'pending', attempts: 0, lease_owner: null, lease_expires_at: null });
  });

  it('computes the content hash in the database, ignoring a hash the caller supplies, and on update', async () => {
    const [chunk] = await dataSource.query(
      `INSERT INTO mgmt.embed_chunk (text, content_hash) VALUES ('a', 'forged') RETURNING id, content_hash`,
    );
    expect(chunk.content_hash).toBe(sha256('a'));
    await dataSource.query(`UPDATE mgmt.embed_chunk SET text = 'b' WHERE id = $1`, [chunk.id]);
    const [updated] = await dataSource.query(`SELECT content_hash FROM mgmt.embed_chunk WHERE id = $1`, [chunk.id]);
    expect(updated.content_hash).toBe(sha256('b'));
  });

  it('refuses unknown statuses and a chunk linked twice to one task', async () => {
    await expect(
      dataSource.query(`INSERT INTO mgmt.task (name, model, status) VALUES ('t', 'm', 'odd')`),
    ).rejects.toThrow(/task_status_check/);
    const [task] = await dataSource.query(`INSERT INTO mgmt.task (name, model) VALUES ('t', 'm') RETURNING id`);
    const [chunk] = await dataSource.query(`INSERT INTO mgmt.embed_chunk (text) VALUES ('x') RETURNING id`);
    const link = `INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id) VALUES (${task.id}, ${chunk.id})`;
    await dataSource.query(link);
    await expect(dataSource.query(link)).rejects.toThrow(/embed_task_chunk_task_chunk_key/);
  });
});

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
