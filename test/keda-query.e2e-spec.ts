import { Client } from 'pg';
import { parseModelList } from '../src/config/config.loader';
import { createTestDatabase, TestDatabase } from './database';
import { backlogTrigger, kubectlMissing, ofKind, queryModels, render, withModels } from './kubernetes/manifests';

/**
 * The KEDA trigger's query, read from the rendered ScaledObjects (so replacing it is one edit, in
 * base/worker/scaledobject.yaml), run on a real PostgreSQL with a known backlog, the way KEDA's postgresql scaler
 * reads it: one row, the first column as a float.
 */
const missing = kubectlMissing();
if (missing) console.warn(missing);
const describeWithKubectl = missing ? describe.skip : describe;

describeWithKubectl('the KEDA trigger query on a real PostgreSQL', () => {
  let db: TestDatabase;
  let sql: Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = new Client({ connectionString: db.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql.end();
    await db.drop();
  });
  afterEach(() => sql.query('TRUNCATE mgmt.task, mgmt.embed_chunk, mgmt.embed_task_chunk CASCADE'));

  /** A task for a model with links in the given statuses, inserted as plain SQL would. */
  async function task(
    model: string,
    counts: Partial<Record<'pending' | 'in_progress' | 'done' | 'failed', number>>,
    status = 'pending',
  ) {
    const [{ id }] = (
      await sql.query(`INSERT INTO mgmt.task (name, model, status) VALUES ('t', $1, $2) RETURNING id`, [model, status])
    ).rows;
    for (const [linkStatus, n] of Object.entries(counts)) {
      await sql.query(
        `WITH c AS (INSERT INTO mgmt.embed_chunk (text) SELECT 'text ' || g || ' ' || random() FROM generate_series(1, $2::int) g RETURNING id)
         INSERT INTO mgmt.embed_task_chunk (task_id, chunk_id, status, lease_owner, lease_expires_at)
         SELECT $1, c.id, $3, CASE WHEN $3 = 'in_progress' THEN 'w' END, CASE WHEN $3 = 'in_progress' THEN now() + interval '5 min' END FROM c`,
        [id, n, linkStatus],
      );
    }
  }

  /** Runs the query as KEDA's postgresql scaler does: one row, its first column read as a float. */
  async function backlog(query: string): Promise<number> {
    const result = await sql.query({ text: query, rowMode: 'array' });
    expect(result.rows).toHaveLength(1);
    expect(result.fields).toHaveLength(1);
    return Number.parseFloat(String(result.rows[0][0]));
  }

  const baseQuery = () => backlogTrigger(ofKind(render('base'), 'ScaledObject')[0]).metadata.query as string;

  it('returns 0 with no work at all, and with only finished, failed and cancelled work', async () => {
    const model = queryModels(baseQuery());
    expect(await backlog(baseQuery())).toBe(0);
    await task(model, { done: 30, failed: 4 }, 'failed');
    await task(model, { pending: 12 }, 'cancelled');
    expect(await backlog(baseQuery())).toBe(0);
  });

  it('counts pending and in-progress links of the models served, and nothing else', async () => {
    const model = queryModels(baseQuery());
    await task(model, { pending: 25, in_progress: 7, done: 40, failed: 3 }, 'running');
    await task(model, { pending: 10 });
    // Links added by plain SQL to a task already completed are still claimed, so they count.
    await task(model, { pending: 2, done: 5 }, 'completed');
    await task(model, { pending: 50, in_progress: 5 }, 'cancelled');
    await task('someone/else', { pending: 100, in_progress: 9 });
    expect(await backlog(baseQuery())).toBe(25 + 7 + 10 + 2);
  });

  it('heterogeneous: each pool counts only its own model, so each scales on its own', async () => {
    const scalers = ofKind(render('overlays/heterogeneous'), 'ScaledObject');
    const [first, second] = scalers.map((scaler) => backlogTrigger(scaler).metadata.query as string);
    await task(queryModels(first), { pending: 11, in_progress: 2 });
    await task(queryModels(second), { pending: 30 });
    expect([await backlog(first), await backlog(second)]).toEqual([13, 30]);
  });

  it('reads EMBEDDING_MODELS entries as the service does (named folders, folders, revisions, spaces)', async () => {
    const entries = ' owner/one@0123abc , two=/models/big-model,/models/three/ ,./four, ,owner/five';
    const ids = parseModelList(entries).map((model) => model.id);
    expect(ids).toEqual(['owner/one', 'two', 'three', 'four', 'owner/five']);
    for (const id of ids) await task(id, { pending: 1 });
    // The raw entries are not model ids: a task named so is not counted.
    await task('owner/one@0123abc', { pending: 1 });
    await task('/models/big-model', { pending: 1 });
    expect(await backlog(withModels(baseQuery(), entries))).toBe(ids.length);
    expect(await backlog(withModels(baseQuery(), ''))).toBe(0);
  });
});
