import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseTarget } from './database-target';
import { CliError } from './errors';

describe('databaseTarget', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'psql-target-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('takes DATABASE_URL, its password out of the URL (for PGPASSWORD)', () => {
    expect(databaseTarget({ DATABASE_URL: 'postgres://app:p%40ss@db:5432/tasks' })).toEqual({
      url: 'postgres://app@db:5432/tasks',
      password: 'p@ss',
    });
    expect(databaseTarget({ DATABASE_URL: 'postgres://app@db/tasks' })).toEqual({ url: 'postgres://app@db/tasks' });
  });

  it("else the embedded server: the defaults' port, its database and user, the password from its file", async () => {
    await writeFile(join(dir, '.pg.password'), 'secret\n');
    const defaults = { EMBEDDED_PG_DATA_DIR: './unused', EMBEDDED_PG_PORT: '54329' };
    expect(databaseTarget({ EMBEDDED_PG_DATA_DIR: join(dir, 'pg') }, defaults)).toEqual({
      url: 'postgres://postgres@127.0.0.1:54329/embedding_tasks',
      password: 'secret',
      passwordFile: join(dir, '.pg.password'),
    });
  });

  it('says how to get a password file when there is none', () => {
    const target = () => databaseTarget({ EMBEDDED_PG_DATA_DIR: join(dir, 'none'), EMBEDDED_PG_PORT: '5' });
    expect(target).toThrow(CliError);
    expect(target).toThrow(`no embedded database password in ${join(dir, '.none.password')}`);
  });
});
