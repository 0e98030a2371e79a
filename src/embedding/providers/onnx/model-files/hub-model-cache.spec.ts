import { cp, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddingErrorCode } from '../../../embedding.errors';
import { allEmbedded } from '../../embedding-model';
import { ensureHubModelFiles, HubCacheOptions } from './hub-model-cache';
import { OnnxModel } from '../onnx-model';
import { ensureModel } from '../../../../../test/fixtures/model/make-model';
import { FakeHub } from '../../../../../test/fake-hub';
import { freePort } from '../../../../../test/ports';

const REPO = 'acme/tiny-embedder';
const STORAGE = 'models--acme--tiny-embedder';
const REQUIRED = ['config.json', 'tokenizer.json', 'onnx/model.onnx'];
/** What versions up to 0.1 (transformers.js' layout) fetched into `<cacheDir>/<owner>/<name>`. */
const LEGACY_FILES = [...REQUIRED, 'tokenizer_config.json', 'modules.json', '1_Pooling/config.json'];

describe(ensureHubModelFiles.name, () => {
  let modelDir: string;
  let cacheDir: string;
  let hub: FakeHub;
  let commit: string;
  const hubOptions = (extra: HubCacheOptions = {}): HubCacheOptions => ({ cacheDir, hubUrl: hub.url, ...extra });
  const warnings: string[] = [];
  const logger = { log: () => undefined, warn: (message: string) => warnings.push(message) };

  /** The hub model, loaded from the cache by the provider, embeds exactly as the folder it was served from. */
  async function expectVectorsOfTheLocalFolder(options: HubCacheOptions): Promise<void> {
    const cached = new OnnxModel({ id: 'hub', hubId: REPO }, { hub: options });
    const local = new OnnxModel({ id: 'local', path: modelDir });
    await Promise.all([cached.load(), local.load()]);
    const [fromCache] = allEmbedded(await cached.embed(['hello']));
    expect([...fromCache]).toEqual([...allEmbedded(await local.embed(['hello']))[0]]);
    await Promise.all([cached.close(), local.close()]);
  }

  beforeAll(async () => {
    modelDir = await ensureModel('tiny');
    hub = new FakeHub(['main', 'v1.0']);
    commit = await hub.addRepo(REPO, modelDir);
    await hub.start();
  });

  beforeEach(async () => {
    hub.requests.length = 0;
    warnings.length = 0;
    cacheDir = await mkdtemp(join(tmpdir(), 'hub-cache-'));
  });

  afterEach(() => rm(cacheDir, { recursive: true, force: true }));
  afterAll(() => hub.close());

  it('downloads into the hub cache layout through the hub API and serves the same vectors', async () => {
    const folder = await ensureHubModelFiles({ id: 'hub', hubId: REPO }, hubOptions());
    expect(folder).toBe(join(cacheDir, STORAGE, 'snapshots', commit));
    for (const file of [...REQUIRED, 'modules.json', '1_Pooling/config.json', 'tokenizer_config.json']) {
      expect((await readFile(join(folder, file))).equals(await readFile(join(modelDir, file)))).toBe(true);
    }
    expect(await readFile(join(cacheDir, STORAGE, 'refs', 'main'), 'utf8')).toBe(commit);
    expect(await readlink(join(folder, 'onnx/model.onnx'))).toMatch(/^\.\.\/\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
    expect(hub.requests).toContainEqual(expect.stringMatching(`^GET /api/models/${REPO}/revision/main`));
    expect(hub.requests).toContain(`GET /${REPO}/resolve/${commit}/onnx/model.onnx`);
    await expectVectorsOfTheLocalFolder(hubOptions());
  });

  it('starts from the cache alone once downloaded, offline, through refs/<revision>', async () => {
    await ensureHubModelFiles({ id: 'hub', hubId: REPO }, hubOptions());
    hub.requests.length = 0;
    const folder = await ensureHubModelFiles({ id: 'hub', hubId: REPO }, hubOptions({ offline: true }));
    expect(folder).toBe(join(cacheDir, STORAGE, 'snapshots', commit));
    expect(hub.requests).toEqual([]);
  });

  it('asks the hub only which commit main is when everything is cached', async () => {
    await ensureHubModelFiles({ id: 'hub', hubId: REPO }, hubOptions());
    hub.requests.length = 0;
    await ensureHubModelFiles({ id: 'hub', hubId: REPO }, hubOptions());
    expect(hub.requests).toEqual([expect.stringMatching(`^GET /api/models/${REPO}/revision/main`)]);
  });

  it('serves the cached commit, with a warning, when the hub does not answer', async () => {
    await ensureHubModelFiles({ id: 'hub', hubId: REPO }, hubOptions());
    const unreachable = `http://127.0.0.1:${await freePort()}`;
    const folder = await ensureHubModelFiles({ id: 'hub', hubId: REPO }, hubOptions({ hubUrl: unreachable }), logger);
    expect(folder).toBe(join(cacheDir, STORAGE, 'snapshots', commit));
    expect(warnings).toEqual([expect.stringContaining(`the hub did not answer`)]);
    expect(warnings[0]).toContain(`using the cached commit ${commit}`);
    // The cause, not undici's bare "fetch failed".
    expect(warnings[0]).toContain('connection refused [ECONNREFUSED]');
  });

  it("logs each download itself and lets none of the hub library's plain-text console lines through", async () => {
    const lines: string[] = [];
    const debug = jest.spyOn(console, 'debug').mockImplementation(() => undefined);
    try {
      const log = { log: (message: string) => lines.push(message), warn: () => undefined };
      await ensureHubModelFiles({ id: 'hub', hubId: REPO }, hubOptions(), log);
      expect(debug).not.toHaveBeenCalled();
      expect(lines).toContain('Model "hub": downloading onnx/model.onnx');
      expect(console.debug).toBe(debug);
    } finally {
      debug.mockRestore();
    }
  });

  it('serves a cache whose refs cannot be written (mounted read-only), with a warning', async () => {
    const folder = await ensureHubModelFiles({ id: 'hub', hubId: REPO }, hubOptions());
    await rm(join(cacheDir, STORAGE, 'refs'), { recursive: true });
    await writeFile(join(cacheDir, STORAGE, 'refs'), 'not a folder');
    hub.requests.length = 0;
    await expect(ensureHubModelFiles({ id: 'hub', hubId: REPO }, hubOptions(), logger)).resolves.toBe(folder);
    expect(warnings).toEqual([expect.stringContaining(`cannot record main = ${commit}`)]);
    expect(hub.requests).toHaveLength(1);
  });

  it('keeps a pinned branch in its own ref and needs no request at all for a pinned commit', async () => {
    const folder = await ensureHubModelFiles({ id: 'hub', hubId: REPO, revision: 'v1.0' }, hubOptions());
    expect(folder).toBe(join(cacheDir, STORAGE, 'snapshots', commit));
    expect(await readFile(join(cacheDir, STORAGE, 'refs', 'v1.0'), 'utf8')).toBe(commit);
    expect(hub.requests).toContainEqual(expect.stringMatching(`^GET /api/models/${REPO}/revision/v1.0`));
    hub.requests.length = 0;
    await expect(ensureHubModelFiles({ id: 'hub', hubId: REPO, revision: commit }, hubOptions())).resolves.toBe(folder);
    expect(hub.requests).toEqual([]);
  });

  it('lists the files it needed and where it looked when offline with an empty cache', async () => {
    const attempt = ensureHubModelFiles({ id: 'hub', hubId: REPO }, hubOptions({ offline: true }));
    const searched = [join(cacheDir, STORAGE, 'snapshots'), `${hub.url}/${REPO}/resolve/main`];
    await expect(attempt).rejects.toMatchObject({
      code: EmbeddingErrorCode.ModelFilesUnavailable,
      message: expect.stringContaining('offline (MODEL_OFFLINE) and not cached'),
    });
    await expect(attempt).rejects.toThrow(`Missing: ${REQUIRED.join(', ')}. Looked in: ${searched.join(', ')}`);
    expect(hub.requests).toEqual([]);
  });

  it('reports a variant file the hub does not have', async () => {
    const attempt = ensureHubModelFiles({ id: 'hub', hubId: REPO, modelFile: 'model_int8.onnx' }, hubOptions());
    await expect(attempt).rejects.toMatchObject({
      code: EmbeddingErrorCode.ModelFilesUnavailable,
      message: expect.stringContaining(`the hub repository has no such file at revision main (commit ${commit})`),
    });
    await expect(attempt).rejects.toThrow('Missing: onnx/model_int8.onnx.');
  });

  it("names the hub's answer for a repository it does not have", async () => {
    const attempt = ensureHubModelFiles({ id: 'hub', hubId: 'acme/missing' }, hubOptions());
    await expect(attempt).rejects.toMatchObject({
      code: EmbeddingErrorCode.ModelFilesUnavailable,
      message: expect.stringContaining(`the hub at ${hub.url}/acme/missing/resolve/main failed: Repository not found`),
    });
  });

  describe('a cache written by versions up to 0.1 (plain files in <cacheDir>/<owner>/<name>[/<revision>])', () => {
    async function writeLegacyCache(folder: string): Promise<void> {
      for (const file of LEGACY_FILES) {
        await cp(join(modelDir, file), join(folder, file));
      }
    }

    it('is used as it is, without a request, and serves the same vectors', async () => {
      await writeLegacyCache(join(cacheDir, REPO));
      const folder = await ensureHubModelFiles({ id: 'hub', hubId: REPO }, hubOptions());
      expect(folder).toBe(join(cacheDir, REPO));
      expect(hub.requests).toEqual([]);
      await expectVectorsOfTheLocalFolder(hubOptions({ offline: true }));
    });

    it('keeps a pinned revision in its own folder', async () => {
      await writeLegacyCache(join(cacheDir, REPO, 'v1.0'));
      const source = { id: 'hub', hubId: REPO, revision: 'v1.0' };
      await expect(ensureHubModelFiles(source, hubOptions({ offline: true }))).resolves.toBe(
        join(cacheDir, REPO, 'v1.0'),
      );
    });

    it('is passed over when incomplete: the model is downloaded into the hub layout', async () => {
      await cp(join(modelDir, 'config.json'), join(cacheDir, REPO, 'config.json'));
      const folder = await ensureHubModelFiles({ id: 'hub', hubId: REPO }, hubOptions());
      expect(folder).toBe(join(cacheDir, STORAGE, 'snapshots', commit));
    });
  });
});
