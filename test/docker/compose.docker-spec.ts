import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { allEmbedded } from '../../src/embedding/providers/embedding-model';
import { OnnxModel } from '../../src/embedding/providers/onnx/onnx-model';
import { FakeHub } from '../fake-hub';
import { ensureModel } from '../fixtures/model/make-model';
import { freePort } from '../ports';
import { describeWithDocker, docker, root, until } from './docker';

/**
 * The project's docker-compose.yml, as `docker compose up --build` starts it (PostgreSQL, `api` running the
 * migrations, `worker` once the api is healthy), with test/docker/compose.host-network.yml for this machine's engine
 * (no bridge, no NAT: host network, ports of its own) and the model from a hub on this machine. A task created
 * through the API is embedded by the worker and its vectors stored; `down -v` leaves nothing behind.
 *
 * The engine discards published ports on the host network, but docker-compose 1.29 (the one here) refuses them
 * instead, and an override cannot remove the api's `ports`: so the two files are merged by `docker compose config`
 * and the merged file, less those ports, is what starts.
 */
const HUB_REPO = 'acme/tiny-embedder';
const TEXTS = ['PostgreSQL is a relational database.', 'Embeddings are vectors.', 'The worker embeds this one.'];
const FILES = ['-f', 'docker-compose.yml', '-f', 'test/docker/compose.host-network.yml'];

describeWithDocker()('docker-compose.yml (PostgreSQL, api, worker)', () => {
  const project = `et-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {};
  let hub: FakeHub;
  let modelDir: string;
  let api: string;
  let dir: string;
  const compose = (args: string[], timeoutMs?: number) =>
    docker(
      ['compose', '--project-name', project, '--project-directory', root, '-f', join(dir, 'compose.yml'), ...args],
      {
        env,
        timeoutMs,
      },
    );
  const owned = (list: string[]) =>
    docker([...list, '--quiet', '--filter', `label=com.docker.compose.project=${project}`]);

  beforeAll(async () => {
    modelDir = await ensureModel('tiny');
    hub = new FakeHub();
    await hub.addRepo(HUB_REPO, modelDir);
    await hub.start();
    const [pg, apiPort, workerPort] = [await freePort(), await freePort(), await freePort()];
    api = `http://127.0.0.1:${apiPort}`;
    Object.assign(env, {
      ET_PG_PORT: String(pg),
      ET_API_PORT: String(apiPort),
      ET_WORKER_PORT: String(workerPort),
      ET_HUB_URL: hub.url,
      EMBEDDING_MODELS: HUB_REPO,
      POSTGRES_PASSWORD: randomBytes(8).toString('hex'),
      API_KEY: '',
    });
    dir = await mkdtemp(join(tmpdir(), 'et-compose-'));
    await writeFile(join(dir, 'compose.yml'), await hostNetworkCompose(env));
    await compose(['up', '--detach', '--build'], 25 * 60_000);
  }, 30 * 60_000);

  afterAll(async () => {
    await compose(['down', '--volumes', '--rmi', 'local'], 180_000).catch(() => undefined);
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  }, 240_000);

  it(
    'starts PostgreSQL, then the api (migrations, model download), then the worker, all healthy',
    async () => {
      const states = await until(
        'every service to run healthy',
        async () => {
          const ids = (await compose(['ps', '--quiet'])).split('\n').filter(Boolean);
          const states = await Promise.all(
            ids.map((id) =>
              docker(['inspect', '--format', '{{.Name}} {{.State.Status}} {{.State.Health.Status}}', id]),
            ),
          );
          return states.length === 3 && states.every((state) => state.endsWith('running healthy')) ? states : undefined;
        },
        5 * 60_000,
      );
      expect(states.map((state) => state.split(' ')[0].replace(`/${project}_`, '')).sort()).toEqual([
        'api_1',
        'postgres_1',
        'worker_1',
      ]);
      expect((await fetch(`${api}/health/ready`)).status).toBe(200);
    },
    6 * 60_000,
  );

  it('embeds a task created through the API and stores its vectors, exactly as in-process', async () => {
    const created = await fetch(`${api}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'compose', model: HUB_REPO, chunks: TEXTS.map((text) => ({ text })) }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    const task = await until(
      'the task to complete',
      async () => {
        const body = (await (await fetch(`${api}/tasks/${id}`)).json()) as { status: string };
        if (body.status === 'failed') throw new Error(JSON.stringify(body));
        return body.status === 'completed' ? body : undefined;
      },
      120_000,
    );
    expect(task).toMatchObject({ status: 'completed' });

    const lines = (await (await fetch(`${api}/tasks/${id}/embeddings`)).text()).trim().split('\n');
    const stored = lines.map((line) => JSON.parse(line) as { text: string; model: string; embedding: number[] });
    const local = new OnnxModel({ id: 'tiny', path: modelDir });
    await local.load();
    const expected = allEmbedded(await local.embed(TEXTS)).map((vector) => [...vector]);
    await local.close();
    expect(stored.map(({ text, model }) => ({ text, model }))).toEqual(
      TEXTS.map((text) => ({ text, model: HUB_REPO })),
    );
    expect(stored.map(({ embedding }) => embedding.map(Math.fround))).toEqual(expected);
  }, 180_000);

  it('leaves no container, volume or network after `docker compose down -v`', async () => {
    expect((await owned(['ps', '--all'])).length).toBeGreaterThan(0);
    await compose(['down', '--volumes'], 180_000);
    expect({
      containers: await owned(['ps', '--all']),
      volumes: await owned(['volume', 'ls']),
      networks: await owned(['network', 'ls']),
    }).toEqual({ containers: '', volumes: '', networks: '' });
  }, 240_000);
});

/** docker-compose.yml with the override, as `docker compose config` merges them, without ports on the host network. */
async function hostNetworkCompose(env: NodeJS.ProcessEnv): Promise<string> {
  const merged = parse(await docker(['compose', ...FILES, 'config'], { env })) as {
    services: Record<string, { network_mode?: string; ports?: unknown }>;
  };
  for (const service of Object.values(merged.services)) {
    if (service.network_mode === 'host') delete service.ports;
  }
  return stringify(merged);
}
