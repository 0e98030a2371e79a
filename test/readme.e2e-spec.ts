import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readDefaults } from '../src/config/config.loader';
import { ensureModel } from './fixtures/model/make-model';
import { freshClone, removeClone, run, shell, ShellRun, stop, waitForOutput } from './fresh-clone';
import { freePort } from './ports';
import { waitFor } from './wait';

const README = readFileSync(resolve(__dirname, '..', 'README.md'), 'utf8');

/** The ```bash blocks of the README's `## heading` section ('' for the text above the first heading). */
function bashBlocks(heading: string): string[] {
  const sections = README.split(/^## /m);
  const section = heading === '' ? sections[0] : sections.find((text) => text.startsWith(`${heading}\n`));
  if (!section) throw new Error(`README.md has no section "## ${heading}"`);
  return [...section.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
}

/** The README's model, served here by the generated tiny model under its name, so the examples run as written. */
const MODEL = 'sentence-transformers/all-MiniLM-L6-v2';

/**
 * The README's commands that need no network, run as written in a fresh copy of the working tree: `npm start` (which
 * builds) on the embedded defaults, the curl and CLI examples against it, the built CLI through `npx`, the benchmark
 * help and its smallest part, and what `npm pack` would ship. Only the ports differ: PORT and EMBEDDED_PG_PORT are
 * set, and `localhost:3000` in the curl examples points at PORT.
 */
describe('README commands from a fresh clone (e2e)', () => {
  let clone: string;
  let service: ShellRun;
  let url: string;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    clone = await freshClone();
    const [port, pgPort, tiny] = await Promise.all([freePort(), freePort(), ensureModel('tiny')]);
    url = `http://127.0.0.1:${port}`;
    // A user's shell: none of the service's settings, nothing from Jest.
    const ours = new Set([...Object.keys(readDefaults()), 'NODE_ENV', 'JEST_WORKER_ID', 'EMBEDDING_TASKS_API_KEY']);
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !ours.has(key)));
    env = {
      ...inherited,
      HOST: '127.0.0.1',
      PORT: String(port),
      EMBEDDED_PG_PORT: String(pgPort),
      EMBEDDING_MODELS: `${MODEL}=${tiny}`,
      EMBEDDING_TASKS_URL: url,
    };
    await writeFixtures(clone);

    const [intro] = bashBlocks('');
    expect(intro).toMatch(/^npm ci && npm start\b/m);
    service = shell('npm start', clone, env);
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

  it('"Feeding work": the curl examples create a task and read it back, then a search finds its chunk', async () => {
    const [curl, search] = bashBlocks('Feeding work');
    const output = await run(curl.replaceAll('localhost:3000', url), clone, env);
    expect(output).toContain('"name":"handbook"');
    expect(output).toMatch(/"progress":\{"total":2,/);
    const found = (await run(search.replaceAll('localhost:3000', url), clone, env)).split('\n');
    const answer = JSON.parse(found.find((line) => line.startsWith('{"model"')) ?? '{}');
    expect(answer).toEqual({
      model: MODEL,
      exact: true,
      results: [{ chunkId: 1, score: expect.closeTo(1, 5), text: 'PostgreSQL is a relational database.', metadata: {} }],
    });
  }, 120_000);

  it('"CLI": the examples run as written with `npm run cli --`, then with the built `npx embedding-tasks`', async () => {
    const [examples] = bashBlocks('CLI');
    expect(examples).toContain('npm run cli -- submit docs.jsonl');
    for (const script of [examples, examples.replaceAll('npm run cli --', 'npx embedding-tasks')]) {
      const output = await run(script, clone, env);
      expect(output).toMatch(/completed/);
      const lines = (await readFile(join(clone, 'vectors.jsonl'), 'utf8')).trim().split('\n');
      const vectors = lines.map((line) => JSON.parse(line) as { model: string; embedding: number[] });
      expect(vectors.length).toBeGreaterThan(0);
      expect(vectors.every(({ model, embedding }) => model === MODEL && embedding.length > 0)).toBe(true);
    }
  }, 120_000);

  it('"Benchmarks": the help lists every part the README describes, and the smallest part runs', async () => {
    const [commands] = bashBlocks('Benchmarks');
    const help = commands.split('\n').find((line) => line.startsWith('npm run bench -- --help'));
    expect(help).toBeDefined();
    const listed = [...(await run(help!, clone, env)).matchAll(/^ {2}(\w+) {2,}/gm)].map((match) => match[1]);
    const described = [...README.matchAll(/^\*\*`(\w+)`\*\*/gm)].map((match) => match[1]);
    expect(listed.sort()).toEqual(described.sort());

    await run('npm run bench -- tei --texts 256 --rounds 1', clone, env);
    expect(existsSync(join(clone, 'bench/results/latest-tei.json'))).toBe(true);
  }, 120_000);

  it('npm pack ships the built service and CLI with its defaults, and no sources, tests, maps or models', async () => {
    const [pack] = JSON.parse(await run('npm pack --dry-run --json 2>/dev/null', clone, env)) as [
      { files: { path: string; mode: number }[] },
    ];
    const paths = pack.files.map(({ path }) => path);
    expect(paths).toEqual(expect.arrayContaining(['package.json', 'README.md', 'config/defaults.env', 'dist/main.js']));
    expect(pack.files.find(({ path }) => path === 'dist/cli/main.js')?.mode).toBe(0o755);
    expect(paths.filter((path) => !/^(dist\/|config\/defaults\.env$|package\.json$|README\.md$)/.test(path))).toEqual(
      [],
    );
    expect(paths.filter((path) => /\.map$|\/testing\/|\.spec\.js$/.test(path))).toEqual([]);
  });

  it('Ctrl-C stops the service and its embedded PostgreSQL', async () => {
    await stop(service, 'SIGINT');
    expect(service.output()).toContain('SIGINT received: shutting down');
    expect(existsSync(join(clone, 'data/postgres/postmaster.pid'))).toBe(false);
  }, 60_000);
});

/** The files the CLI examples name: a JSON lines file and a folder of text. */
async function writeFixtures(dir: string): Promise<void> {
  const lines = ['PostgreSQL is a relational database.', 'Embeddings are vectors.', 'Vectors are compared by cosine.'];
  await writeFile(
    join(dir, 'docs.jsonl'),
    lines.map((text, page) => JSON.stringify({ text, metadata: { page } })).join('\n'),
  );
  await mkdir(join(dir, 'handbook'));
  await writeFile(
    join(dir, 'handbook', 'intro.md'),
    '# Intro\n\nThe service embeds chunks.\n\nIt delivers each vector once.\n',
  );
  await writeFile(join(dir, 'handbook', 'usage.md'), '# Usage\n\nSubmit a folder with the CLI.\n');
}
