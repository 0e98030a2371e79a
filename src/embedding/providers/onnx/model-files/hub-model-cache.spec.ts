import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { env } from '@huggingface/transformers';
import { EmbeddingErrorCode } from '../../../embedding.errors';
import { allEmbedded } from '../../embedding-model';
import { ensureHubModelFiles } from './hub-model-cache';
import { OnnxModel } from '../onnx-model';
import { ensureModel } from '../../../../../test/fixtures/model/make-model';

const REPO = 'acme/tiny-embedder';
const REQUIRED = ['config.json', 'tokenizer.json', 'onnx/model.onnx'];

/** A real HTTP server answering hub-style URLs (`/<repo>/resolve/<revision>/<file>`) from the tiny model. */
async function startHubServer(modelDir: string, requests: string[]): Promise<Server> {
  const server = createServer((request, response) => {
    requests.push(request.url ?? '');
    const match = /^\/acme\/tiny-embedder\/resolve\/[^/]+\/(.+)$/.exec(request.url ?? '');
    const file = match && join(modelDir, decodeURIComponent(match[1]));
    if (!file || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    readFile(file).then((content) => response.writeHead(200).end(content));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe(ensureHubModelFiles.name, () => {
  const requests: string[] = [];
  let modelDir: string;
  let cacheDir: string;
  let server: Server;
  const original = { remoteHost: env.remoteHost, allowRemoteModels: env.allowRemoteModels };

  beforeAll(async () => {
    modelDir = await ensureModel('tiny');
    server = await startHubServer(modelDir, requests);
    env.remoteHost = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  beforeEach(async () => {
    requests.length = 0;
    env.allowRemoteModels = true;
    cacheDir = await mkdtemp(join(tmpdir(), 'hub-cache-'));
  });

  afterEach(() => rm(cacheDir, { recursive: true, force: true }));

  afterAll(async () => {
    Object.assign(env, original);
    await new Promise((resolve) => server.close(resolve));
  });

  it('downloads into <cacheDir>/<repo>, in transformers.js cache layout, and serves the same vectors', async () => {
    const folder = await ensureHubModelFiles({ id: 'hub', hubId: REPO }, { cacheDir });
    expect(folder).toBe(join(cacheDir, REPO));
    for (const file of [...REQUIRED, 'modules.json', '1_Pooling/config.json', 'tokenizer_config.json']) {
      expect((await readFile(join(folder, file))).equals(await readFile(join(modelDir, file)))).toBe(true);
    }
    expect(requests).toContain(`/${REPO}/resolve/main/onnx/model.onnx`);

    const hub = new OnnxModel({ id: 'hub', hubId: REPO }, { hub: { cacheDir } });
    const local = new OnnxModel({ id: 'local', path: modelDir });
    await Promise.all([hub.load(), local.load()]);
    const [fromHub] = allEmbedded(await hub.embed(['hello']));
    expect([...fromHub]).toEqual([...allEmbedded(await local.embed(['hello']))[0]]);
    await Promise.all([hub.close(), local.close()]);
  });

  it('starts from the cache alone once downloaded, even offline', async () => {
    await ensureHubModelFiles({ id: 'hub', hubId: REPO }, { cacheDir });
    requests.length = 0;
    await expect(ensureHubModelFiles({ id: 'hub', hubId: REPO }, { cacheDir, offline: true })).resolves.toBe(
      join(cacheDir, REPO),
    );
    expect(requests).toEqual([]);
  });

  it('keeps a pinned revision in its own folder and asks the hub for that revision', async () => {
    const folder = await ensureHubModelFiles({ id: 'hub', hubId: REPO, revision: 'v1.0' }, { cacheDir });
    expect(folder).toBe(join(cacheDir, REPO, 'v1.0'));
    expect(requests).toContain(`/${REPO}/resolve/v1.0/config.json`);
  });

  it('lists the files it needed and where it looked when offline with an empty cache', async () => {
    env.allowRemoteModels = false;
    const attempt = ensureHubModelFiles({ id: 'hub', hubId: REPO }, { cacheDir });
    const searched = [join(cacheDir, REPO), `${env.remoteHost}${REPO}/resolve/main`];
    await expect(attempt).rejects.toMatchObject({
      code: EmbeddingErrorCode.ModelFilesUnavailable,
      message: expect.stringContaining('offline (remote models disabled) and not cached'),
    });
    await expect(attempt).rejects.toThrow(`Missing: ${REQUIRED.join(', ')}. Looked in: ${searched.join(', ')}`);
    expect(requests).toEqual([]);
  });

  it('reports a variant file the hub does not have', async () => {
    const attempt = ensureHubModelFiles({ id: 'hub', hubId: REPO, modelFile: 'model_int8.onnx' }, { cacheDir });
    await expect(attempt).rejects.toMatchObject({
      code: EmbeddingErrorCode.ModelFilesUnavailable,
      message: expect.stringContaining(`GET ${env.remoteHost}${REPO}/resolve/main/onnx/model_int8.onnx answered 404`),
    });
    await expect(attempt).rejects.toThrow('Missing: onnx/model_int8.onnx.');
  });
});
