import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { parse } from 'yaml';
import { allEmbedded } from '../../src/embedding/providers/embedding-model';
import { OnnxModel } from '../../src/embedding/providers/onnx/onnx-model';
import { createEmptyDatabase, TestDatabase } from '../database';
import { FakeHub } from '../fake-hub';
import { ensureModel } from '../fixtures/model/make-model';
import { freePort } from '../ports';
import { buildImage, describeWithDocker, docker, imageSize, inspect, root, until } from './docker';

/**
 * docker/Dockerfile built and run the way its docs say: as the image's user, read-only root filesystem, a fresh named
 * volume at the model cache, a local model folder mounted read-only, a hub model downloaded from a hub on this
 * machine (FakeHub: no machine here reaches the real one), a PORT other than 3000, the test's PostgreSQL on 127.0.0.1.
 */
const IMAGE = 'embedding-tasks:test';
/** `docker images` size of the official node:22-bookworm-slim (amd64); see docs/docker.md for where it comes from. */
const OFFICIAL_BASE_MB = 220;
const LIMIT_MB = 400;
const MB = 1_000_000;
const HUB_REPO = 'acme/tiny-embedder';
const TEXTS = ['PostgreSQL is a relational database.', 'Embeddings are vectors.', 'a', 'x '.repeat(300)];

describeWithDocker()('docker/Dockerfile (the CPU image, built and run)', () => {
  const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const [container, volume] = [`et-test-${suffix}`, `et-test-models-${suffix}`];
  let database: TestDatabase;
  let hub: FakeHub;
  let modelDir: string;
  let url: string;
  let port: number;

  beforeAll(async () => {
    modelDir = await ensureModel('tiny');
    await buildImage(IMAGE);
    hub = new FakeHub();
    await hub.addRepo(HUB_REPO, modelDir);
    await hub.start();
    database = await createEmptyDatabase();
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    await docker(['volume', 'create', volume]);
    await docker([
      ...['run', '--detach', '--pull', 'never', '--name', container, '--network', 'host'],
      ...['--read-only', '--tmpfs', '/tmp', '--stop-timeout', '30'],
      ...['--volume', `${volume}:/app/data/models`, '--volume', `${modelDir}:/models/tiny:ro`],
      ...['--env', `PORT=${port}`, '--env', 'HOST=127.0.0.1', '--env', `DATABASE_URL=${database.url}`],
      ...['--env', `EMBEDDING_MODELS=tiny=/models/tiny,${HUB_REPO}`, '--env', `MODEL_HUB_URL=${hub.url}`],
      ...['--env', 'EMBEDDING_THREADS=2'],
      IMAGE,
    ]);
  }, 25 * 60_000);

  afterAll(async () => {
    await docker(['rm', '--force', '--volumes', container]).catch(() => undefined);
    await docker(['volume', 'rm', '--force', volume]).catch(() => undefined);
    await hub?.close();
    await database?.drop();
  }, 120_000);

  it('holds no compiler, no browser runtime, and native binaries for this platform only', async () => {
    const listing = await docker([
      ...['run', '--rm', '--pull', 'never', '--entrypoint', 'sh', IMAGE, '-c'],
      'ls node_modules/onnxruntime-node/bin/napi-v6 node_modules/onnxruntime-node/bin/napi-v6/linux; ' +
        'ls node_modules/tokenizers | grep "\\.node$"; ' +
        'for p in typescript ts-node onnxruntime-web @huggingface/transformers sharp @img; do ' +
        '[ -e node_modules/$p ] && echo "present: $p"; done; true',
    ]);
    expect(listing.split(/\s+/)).toEqual([
      'node_modules/onnxruntime-node/bin/napi-v6:',
      'linux',
      'node_modules/onnxruntime-node/bin/napi-v6/linux:',
      'x64',
      'tokenizers.linux-x64-gnu.node',
    ]);
  }, 120_000);

  it('says DATABASE_URL is needed when started without one (the image has no embedded PostgreSQL)', async () => {
    const run = docker(['run', '--rm', '--pull', 'never', '--network', 'none', IMAGE], { timeoutMs: 60_000 });
    const failure = await run.then(
      () => 'exited with 0',
      (error: Error) => error.message,
    );
    expect(failure).toContain('(1)');
    expect(failure).toContain('DATABASE_URL is unset and this installation has no embedded PostgreSQL');
  }, 90_000);

  it("runs the Kubernetes migration Job's command", async () => {
    const job = parse(readFileSync(join(root, 'deploy/kubernetes/base/migrate/job.yaml'), 'utf8'));
    const command: string[] = job.spec.template.spec.containers[0].command;
    const target = await createEmptyDatabase();
    try {
      const run = ['run', '--rm', '--pull', 'never', '--network', 'host', '--read-only', '--tmpfs', '/tmp'];
      await docker([...run, '--env', `DATABASE_URL=${target.url}`, IMAGE, ...command], { timeoutMs: 120_000 });
      const client = new Client({ connectionString: target.url });
      await client.connect();
      const { rows } = await client.query(`SELECT to_regclass('mgmt.task') IS NOT NULL AS migrated`);
      await client.end();
      expect(rows).toEqual([{ migrated: true }]);
    } finally {
      await target.drop();
    }
  }, 180_000);

  it(`weighs at most ${LIMIT_MB} MB on the official node:22-bookworm-slim`, async () => {
    const [image, base] = [await imageSize(IMAGE), await imageSize('node:22-bookworm-slim')];
    const onOfficialBase = (image - base) / MB + OFFICIAL_BASE_MB;
    console.log(`image ${image / MB} MB, base ${base / MB} MB, on the official base ${onOfficialBase} MB`);
    expect(onOfficialBase).toBeLessThanOrEqual(LIMIT_MB);
  }, 60_000);

  it(
    "turns healthy by its HEALTHCHECK on a PORT other than 3000, running as the image's user",
    async () => {
      expect(port).not.toBe(3000);
      const status = await until(
        'the container to turn healthy',
        async () => {
          const health = await inspect(container, '{{.State.Status}} {{.State.Health.Status}}');
          if (health.startsWith('exited')) throw new Error(`exited: ${await docker(['logs', container])}`);
          return health === 'running healthy' ? health : undefined;
        },
        5 * 60_000,
      );
      expect(status).toBe('running healthy');
      expect(await inspect(container, '{{.Config.User}}')).toBe('1000:1000');
      expect(await docker(['exec', container, 'id', '-u'])).toBe('1000');
    },
    6 * 60_000,
  );

  it('is ready, and downloaded the hub model into the fresh named volume', async () => {
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    const cached = await docker(['exec', container, 'ls', `/app/data/models/models--acme--tiny-embedder/snapshots`]);
    expect(cached).toMatch(/^[0-9a-f]{40}$/);
    expect(hub.requests).toContainEqual(
      expect.stringMatching(`^GET /${HUB_REPO}/resolve/[0-9a-f]{40}/onnx/model.onnx`),
    );
  });

  it('embeds exactly as the same model in-process, from the read-only folder and from the hub', async () => {
    const local = new OnnxModel({ id: 'tiny', path: modelDir }, { intraOpNumThreads: 2 });
    await local.load();
    const expected = allEmbedded(await local.embed(TEXTS)).map((vector) => [...vector]);
    await local.close();
    for (const model of ['tiny', HUB_REPO]) {
      const response = await fetch(`${url}/v1/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, input: TEXTS }),
      });
      expect(response.status).toBe(200);
      const { data } = (await response.json()) as { data: { embedding: number[] }[] };
      expect({ model, vectors: data.map(({ embedding }) => embedding.map(Math.fround)) }).toEqual({
        model,
        vectors: expected,
      });
    }
  }, 60_000);

  it('stops cleanly on SIGTERM, well within its grace period', async () => {
    const started = Date.now();
    await docker(['stop', '--time', '30', container], { timeoutMs: 60_000 });
    const seconds = (Date.now() - started) / 1000;
    expect(await inspect(container, '{{.State.ExitCode}}')).toBe('0');
    expect(seconds).toBeLessThan(25);
    expect(await docker(['logs', container])).toContain('SIGTERM received: shutting down');
  }, 90_000);
});
