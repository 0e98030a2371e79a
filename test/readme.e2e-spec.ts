import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { readDefaults } from '../src/config/config.loader';
import { freshClone, removeClone, run, shell, ShellRun, stop, waitForOutput } from './fresh-clone';
import { anchors, codeBlocks, linkTargets, readDoc, ROOT } from './markdown';
import { freePort } from './ports';
import { waitFor } from './wait';

const README = readDoc('README.md');
const DOCS = readdirSync(join(ROOT, 'docs'))
  .filter((file) => file.endsWith('.md'))
  .map((file) => `docs/${file}`);

/** The README's model; offline, the README serves the generated test model under its name. */
const MODEL = 'sentence-transformers/all-MiniLM-L6-v2';
const SERVE = '1. Serve a model';
const EMBED = '2. Embed a task, read its vectors, search';
const CLI = '3. The same from files, with the CLI';
const SQL = '4. The same with SQL';

describe('README and docs/ links (every relative link resolves, #anchors included)', () => {
  it.each(['README.md', ...DOCS])('%s', (file) => {
    const broken = linkTargets(readDoc(file))
      .filter((target) => !/^[a-z]+:/.test(target))
      .filter((target) => {
        const [path, anchor] = target.split('#');
        const resolved = path === '' ? resolve(ROOT, file) : resolve(ROOT, dirname(file), path);
        if (!existsSync(resolved)) return true;
        if (anchor === undefined) return false;
        return !statSync(resolved).isFile() || !anchors(readFileSync(resolved, 'utf8')).has(anchor);
      });
    expect(broken).toEqual([]);
  });
});

/**
 * The README's examples run as written, in order, twice, in a fresh copy of the working tree (so also on a clone that
 * holds files of its own): the offline start (the generated model, `npm start`, which builds), the quick start's
 * curl, CLI and SQL examples, then docs/database.md's SQL and docs/benchmarks.md's commands, and what `npm pack`
 * ships. Only the ports differ: PORT and EMBEDDED_PG_PORT are set, and `localhost:3000` and 54329 point at them.
 */
describe('README examples from a fresh clone (e2e)', () => {
  let clone: string;
  let service: ShellRun;
  let url: string;
  let pgPort: number;
  let env: Record<string, string | undefined>;
  const local = (script: string) => script.replaceAll('localhost:3000', url).replaceAll('54329', String(pgPort));

  beforeAll(async () => {
    clone = await freshClone();
    const port = await freePort();
    pgPort = await freePort();
    url = `http://127.0.0.1:${port}`;
    // A user's shell: none of the service's settings, nothing from Jest.
    const ours = new Set([...Object.keys(readDefaults()), 'NODE_ENV', 'JEST_WORKER_ID', 'EMBEDDING_TASKS_API_KEY']);
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !ours.has(key)));
    env = { ...inherited, HOST: '127.0.0.1', PORT: String(port), EMBEDDED_PG_PORT: String(pgPort) };
    env.EMBEDDING_TASKS_URL = url;

    const [setUp] = codeBlocks(README, 'bash', 'embedding-tasks');
    expect(setUp).toMatch(/^npm ci && npm start\b/m);
    expect(setUp).toMatch(/^npm test\b/m);
    const [online, offline] = codeBlocks(README, 'bash', SERVE);
    expect(online.trim()).toBe(`EMBEDDING_MODELS=${MODEL} npm start`);
    const [make, start] = offline.trim().split('\n');
    expect(start).toMatch(new RegExp(`^EMBEDDING_MODELS=${MODEL}=\\S+ npm start$`));
    await run(make, clone, env);
    service = shell(start, clone, env);
    await waitForOutput(service, 'Listening on', 180_000);
  }, 240_000);

  afterAll(async () => {
    if (service) await stop(service, 'SIGKILL');
    if (clone) await removeClone(clone);
  }, 60_000);

  it('npm start builds, starts the embedded PostgreSQL in ./data/postgres and becomes ready', async () => {
    // The clone has no dist/: nest start compiled src/ (nest-cli.json, tsconfig.build.json), then ran dist/main.js.
    expect(existsSync(join(clone, 'dist/main.js'))).toBe(true);
    expect(service.output()).toContain(`starting embedded PostgreSQL with data in ${join(clone, 'data/postgres')}`);
    await waitFor(async () => ((await fetch(`${url}/health/ready`)).ok ? true : undefined), 60_000);
  });

  it('the build leaves a CLI that `npx embedding-tasks` runs (npm pack marks it executable, see below)', async () => {
    expect(readFileSync(join(clone, 'dist/cli/main.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
    expect(await run('npx embedding-tasks --help', clone, env)).toContain('Usage: embedding-tasks <command>');
  });

  it('quick start, twice: a task embedded, its vectors read back, then a search finds its chunk', async () => {
    const [script] = codeBlocks(README, 'bash', EMBED);
    for (let round = 1; round <= 2; round += 1) {
      const output = await run(local(script), clone, env);
      expect(output).toMatch(/"percent": 100/);
      const vectors = output.split('\n').filter((line) => /^\{"chunk_id" ?: \d+/.test(line));
      expect(vectors).toHaveLength(2);
      const answer = JSON.parse(output.split('\n').find((line) => line.startsWith('{"model"')) ?? '{}');
      expect(answer).toMatchObject({ model: MODEL, exact: true });
      expect(answer.results).toEqual([
        {
          chunkId: expect.any(Number),
          score: expect.closeTo(1, 5),
          text: 'PostgreSQL is a relational database.',
          metadata: {},
        },
      ]);
    }
    const tasks = (await (await fetch(`${url}/tasks?limit=100`)).json()) as {
      items: { name: string; status: string }[];
    };
    const handbooks = tasks.items.filter(({ name }) => name === 'handbook');
    expect(handbooks.map(({ status }) => status)).toEqual(['completed', 'completed']);
  }, 120_000);

  it('the CLI examples run as written with `npm run cli --`, then with the built `npx embedding-tasks`', async () => {
    const [examples] = codeBlocks(README, 'bash', CLI);
    const [reference] = codeBlocks(readDoc('docs/cli.md'), 'bash', 'CLI');
    expect(examples).toContain('npm run -s cli -- submit examples/docs.jsonl');
    const built = examples
      .replaceAll('npm run -s cli --', 'npx embedding-tasks')
      .replaceAll('npm run cli --', 'npx embedding-tasks');
    const texts = readDoc('examples/docs.jsonl')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { text: string }).text);
    for (const script of [examples, reference, built]) {
      const output = await run(script, clone, env);
      expect(output).toMatch(/completed/);
      // vectors.jsonl holds the vectors of the task whose id `submit` printed: examples/docs.jsonl's.
      const lines = (await readFile(join(clone, 'vectors.jsonl'), 'utf8')).trim().split('\n');
      const vectors = lines.map((line) => JSON.parse(line) as { model: string; text: string; embedding: number[] });
      expect(vectors.map(({ text }) => text)).toEqual(texts);
      expect(vectors.every(({ model, embedding }) => model === MODEL && embedding.length > 0)).toBe(true);
    }
  }, 180_000);

  it('docs/api.md: the embedding example answers a vector of the served model', async () => {
    const [example] = codeBlocks(readDoc('docs/api.md'), 'bash', 'Embedding endpoints');
    const answer = JSON.parse(await run(local(example), clone, env)) as Record<string, unknown>;
    expect(answer).toEqual({ model: MODEL, dimensions: expect.any(Number), embedding: expect.any(Array) });
    expect(answer.embedding).toHaveLength(answer.dimensions as number);
  });

  it('docs/search.md: the example searches by text over HTTP and with the CLI, filtered by metadata', async () => {
    const [example] = codeBlocks(readDoc('docs/search.md'), 'bash', 'Search');
    const output = await run(local(example), clone, env);
    expect(output).toMatch(/\{"model":"sentence-transformers\/all-MiniLM-L6-v2","exact":true,"results":\[\{"chunkId":/);
  });

  it('the psql line reaches the embedded database, and the SQL examples run twice and get embedded', async () => {
    const [psql] = codeBlocks(README, 'bash', SQL);
    const sqlScripts = [
      ...codeBlocks(README, 'sql', SQL),
      ...codeBlocks(readDoc('docs/database.md'), 'sql', 'Feeding work with SQL'),
    ];
    expect(sqlScripts.length).toBeGreaterThanOrEqual(3);
    const taskIds: number[] = [];
    for (let round = 1; round <= 2; round += 1) {
      for (const sql of sqlScripts) {
        const output = await runSql(local(psql.trim()), sql);
        if (/\btask_id\b/.test(sql)) taskIds.push(Number(/^(\d+)/m.exec(output)?.[1]));
      }
    }
    expect(new Set(taskIds).size).toBe(taskIds.length);
    for (const id of taskIds) {
      await waitFor(async () => {
        const task = (await (await fetch(`${url}/tasks/${id}`)).json()) as { status: string };
        return task.status === 'completed' ? true : undefined;
      }, 60_000);
    }
  }, 180_000);

  /** Runs one SQL script through the README's psql line (unaligned, stopping at the first error), or through pg. */
  async function runSql(psql: string, sql: string): Promise<string> {
    if (!hasPsql()) return runWithPg(sql);
    return run(`${psql} -At -v ON_ERROR_STOP=1 <<'SQL'\n${sql}SQL\n`, clone, env);
  }

  async function runWithPg(sql: string): Promise<string> {
    const { Client } = await import('pg');
    const password = readFileSync(join(clone, 'data/.postgres.password'), 'utf8');
    const client = new Client({
      host: '127.0.0.1',
      port: pgPort,
      user: 'postgres',
      password,
      database: 'embedding_tasks',
    });
    await client.connect();
    try {
      const { rows } = await client.query<Record<string, unknown>>(sql);
      return rows.map((row) => Object.values(row).join('|')).join('\n');
    } finally {
      await client.end();
    }
  }

  it('docs/benchmarks.md: the help lists every part the page describes, and the smallest part runs', async () => {
    const benchmarks = readDoc('docs/benchmarks.md');
    const [commands] = codeBlocks(benchmarks, 'bash', 'Benchmarks');
    const help = commands.split('\n').find((line) => line.startsWith('npm run bench -- --help'));
    expect(help).toBeDefined();
    const listed = [...(await run(help!, clone, env)).matchAll(/^ {2}(\w+) {2,}/gm)].map((match) => match[1]);
    const described = [...benchmarks.matchAll(/^## `(\w+)`$/gm)].map((match) => match[1]);
    expect(listed.sort()).toEqual(described.sort());

    await run('npm run bench -- tei --texts 256 --rounds 1', clone, env);
    expect(existsSync(join(clone, 'bench/results/latest-tei.json'))).toBe(true);
  }, 120_000);

  it('npm pack ships the built service and CLI with its defaults, and no sources, tests, maps or models', async () => {
    const [pack] = JSON.parse(await run('npm pack --dry-run --json 2>/dev/null', clone, env)) as [
      { files: { path: string; mode: number }[] },
    ];
    const paths = pack.files.map(({ path }) => path);
    expect(paths).toEqual(
      expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'config/defaults.env', 'dist/main.js']),
    );
    expect(pack.files.find(({ path }) => path === 'dist/cli/main.js')?.mode).toBe(0o755);
    const shipped = /^(dist\/|config\/defaults\.env$|package\.json$|README\.md$|LICENSE$|CHANGELOG\.md$)/;
    expect(paths.filter((path) => !shipped.test(path))).toEqual([]);
    expect(paths.filter((path) => /\.map$|\/testing\/|\.spec\.js$/.test(path))).toEqual([]);
  });

  it('Ctrl-C stops the service and its embedded PostgreSQL', async () => {
    await stop(service, 'SIGINT');
    expect(service.output()).toContain('SIGINT received: shutting down');
    expect(existsSync(join(clone, 'data/postgres/postmaster.pid'))).toBe(false);
  }, 60_000);
});

function hasPsql(): boolean {
  try {
    execFileSync('psql', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
