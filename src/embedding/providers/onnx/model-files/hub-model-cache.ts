import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  downloadFileToCacheDir,
  getHFHubCachePath,
  getRepoFolderName,
  HubApiError,
  modelInfo,
  pathsInfo,
} from '@huggingface/hub';
import { messageOf } from '../../../../common/message-of';
import { describeFetchError } from '../../../../common/network-error';
import { EmbeddingError, EmbeddingErrorCode } from '../../../embedding.errors';
import { EmbeddingLogger } from '../../embedding-model';
import { readJsonIfExists } from './json-file';
import { EmbeddingModelSource, modelFilesUnavailable, onnxFileCandidates } from './model-source';

export interface HubCacheOptions {
  /** Where downloaded models live. Default: the hub's own (HF_HUB_CACHE, else ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Never ask the hub; use only what is cached. */
  offline?: boolean;
  /** The hub, or a mirror that speaks its API. Default https://huggingface.co. */
  hubUrl?: string;
  /** Sent as a bearer token to hubUrl (private and gated repositories). */
  accessToken?: string;
}

type HubModelSource = EmbeddingModelSource & { hubId: string };

export const DEFAULT_HUB_URL = 'https://huggingface.co';
const COMMIT = /^[0-9a-f]{40}$/;
const OPTIONAL_FILES = [
  'tokenizer_config.json',
  'special_tokens_map.json',
  'modules.json',
  'sentence_bert_config.json',
  'config_sentence_transformers.json',
];

/**
 * Makes sure a hub model's files are cached and returns the folder that holds them. The cache has the hub's own
 * layout (`<cacheDir>/models--<owner>--<name>/{blobs,refs,snapshots/<commit>}`), written by @huggingface/hub, so a
 * cache filled by `hf download` serves too. Only the files the service reads are fetched, never the whole repository
 * (hub repositories also hold PyTorch weights and every ONNX variant).
 */
export async function ensureHubModelFiles(
  source: HubModelSource,
  options: HubCacheOptions = {},
  logger?: EmbeddingLogger,
): Promise<string> {
  const legacy = options.cacheDir && legacyCacheFolder(source, options.cacheDir);
  if (legacy) {
    logger?.log(`Model "${source.id}" files ready in ${legacy} (the cache layout of versions up to 0.1)`);
    return legacy;
  }
  const folder = await new HubModelFiles(source, options, logger).fetch();
  logger?.log(`Model "${source.id}" files ready in ${folder}`);
  return folder;
}

/** The files every model needs: config, tokenizer, the ONNX variant(s) it loads. */
function requiredFiles(source: EmbeddingModelSource): string[] {
  const cudaFile = source.cudaModelFile ? [onnxFileCandidates(source.cudaModelFile)[0]] : [];
  return ['config.json', 'tokenizer.json', onnxFileCandidates(source.modelFile)[0], ...cudaFile];
}

/**
 * Versions up to 0.1 cached a model as plain files in `<cacheDir>/<owner>/<name>` (`…/<revision>` when pinned), the
 * layout of transformers.js. Such a folder, when complete, is used as it is, without asking the hub, as those
 * versions did; delete it to move the model to the hub's layout (it is downloaded again).
 */
function legacyCacheFolder(source: HubModelSource, cacheDir: string): string | undefined {
  const revision = source.revision ?? 'main';
  const folder = join(cacheDir, source.hubId, ...(revision === 'main' ? [] : [revision]));
  return requiredFiles(source).every((file) => existsSync(join(folder, file))) ? folder : undefined;
}

class HubModelFiles {
  private readonly revision: string;
  private readonly storage: string;
  private offline: boolean;

  constructor(
    private readonly source: HubModelSource,
    private readonly options: HubCacheOptions,
    private readonly logger?: EmbeddingLogger,
  ) {
    this.revision = source.revision ?? 'main';
    this.offline = options.offline ?? false;
    this.storage = join(
      options.cacheDir ?? getHFHubCachePath(),
      getRepoFolderName({ type: 'model', name: source.hubId }),
    );
  }

  async fetch(): Promise<string> {
    const commit = await this.resolveCommit();
    const snapshot = join(this.storage, 'snapshots', commit);
    const required = requiredFiles(this.source);
    const missing = await this.download(commit, snapshot, required);
    if (missing.length > 0) {
      throw modelFilesUnavailable(this.source.id, missing, [snapshot, this.url()], this.whyMissing(commit));
    }
    await this.download(commit, snapshot, OPTIONAL_FILES);
    await this.download(commit, snapshot, [await poolingConfigPath(snapshot)]);
    return snapshot;
  }

  /** The commit the revision names: itself when a commit, else the hub's answer, else (offline) the cached ref. */
  private async resolveCommit(): Promise<string> {
    if (COMMIT.test(this.revision)) {
      return this.revision;
    }
    if (this.offline) {
      return (await this.cachedRef()) ?? this.notCached('offline (MODEL_OFFLINE) and not cached');
    }
    try {
      const [name, revision] = [this.source.hubId, this.revision];
      const { sha } = await modelInfo({ ...this.hub(), name, revision, additionalFields: ['sha'] });
      await this.writeRef(this.checkedCommit(sha));
      return sha;
    } catch (error) {
      return this.cachedCommitAfter(error);
    }
  }

  /** A commit id names a folder of the cache: anything else (a mirror's mistake, `..`) never reaches a path. */
  private checkedCommit(commit: unknown): string {
    if (typeof commit === 'string' && COMMIT.test(commit)) {
      return commit;
    }
    throw this.hubFailure(new Error(`${JSON.stringify(commit)} is not a commit id`));
  }

  /** The hub did not answer: like huggingface_hub, serve what is cached for this revision, with a warning. */
  private async cachedCommitAfter(error: unknown): Promise<string> {
    if (error instanceof EmbeddingError) {
      throw error;
    }
    if (error instanceof HubApiError) {
      throw this.hubFailure(error);
    }
    const cached = await this.cachedRef();
    if (!cached) {
      return this.notCached(`the hub did not answer (${describeFetchError(error)}) and the model is not cached`);
    }
    this.logger?.warn(
      `Model "${this.source.id}": the hub did not answer (${describeFetchError(error)}); using the cached commit ${cached}`,
    );
    this.offline = true;
    return cached;
  }

  /** Downloads the files not yet in the snapshot that the hub has; returns those still missing afterwards. */
  private async download(commit: string, snapshot: string, files: string[]): Promise<string[]> {
    const absent = files.filter((file) => !existsSync(join(snapshot, file)));
    if (absent.length === 0 || this.offline) {
      return absent;
    }
    const upstream = await this.hubCall(() => pathsInfo({ ...this.hub(), revision: commit, paths: absent }));
    const available = new Set(upstream.filter((info) => info.type === 'file').map((info) => info.path));
    for (const path of available) {
      this.logger?.log(`Model "${this.source.id}": downloading ${path}`);
      await this.hubCall(() =>
        withoutHubConsoleLines(() => downloadFileToCacheDir({ ...this.hub(), revision: commit, path })),
      );
    }
    return absent.filter((file) => !available.has(file));
  }

  private hub() {
    const { hubUrl = DEFAULT_HUB_URL, accessToken } = this.options;
    const repo = { type: 'model' as const, name: this.source.hubId };
    return { repo, hubUrl, accessToken, cacheDir: this.options.cacheDir ?? getHFHubCachePath() };
  }

  private async hubCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw this.hubFailure(error);
    }
  }

  private hubFailure(error: unknown): EmbeddingError {
    return new EmbeddingError(
      EmbeddingErrorCode.ModelFilesUnavailable,
      `Model "${this.source.id}": the hub at ${this.url()} failed: ${describeFetchError(error)}`,
    );
  }

  private async cachedRef(): Promise<string | undefined> {
    const ref = await readFile(join(this.storage, 'refs', this.revision), 'utf8').catch(() => undefined);
    return ref === undefined ? undefined : this.checkedCommit(ref.trim());
  }

  /**
   * refs/<revision> holds the commit, as huggingface_hub writes it, so an offline start finds the snapshot. A cache
   * mounted read-only (filled beforehand) keeps the ref it has.
   */
  private async writeRef(commit: string): Promise<void> {
    try {
      await mkdir(join(this.storage, 'refs'), { recursive: true });
      await writeFile(join(this.storage, 'refs', this.revision), commit);
    } catch (error) {
      this.logger?.warn(`Model "${this.source.id}": cannot record ${this.revision} = ${commit}: ${messageOf(error)}`);
    }
  }

  private notCached(reason: string): never {
    const snapshots = join(this.storage, 'snapshots');
    throw modelFilesUnavailable(this.source.id, requiredFiles(this.source), [snapshots, this.url()], reason);
  }

  private whyMissing(commit: string): string {
    return this.offline
      ? 'offline (MODEL_OFFLINE, or the hub did not answer) and not cached'
      : `the hub repository has no such file at revision ${this.revision} (commit ${commit})`;
  }

  private url(): string {
    return `${this.options.hubUrl ?? DEFAULT_HUB_URL}/${this.source.hubId}/resolve/${this.revision}`;
  }
}

/** The plain-text line @huggingface/hub prints for every download (console.debug, straight to stdout). */
const HUB_DOWNLOAD_LINE = /^Downloading \S+ to /;
let quieted = 0;
let hubConsoleDebug: typeof console.debug = console.debug;

/**
 * Runs a hub download with its own "Downloading …" console line dropped: it would be the one line of plain text
 * among JSON log lines, and the service logs the download itself. Other console.debug output passes; downloads
 * running at once share one replacement (counted), and the original comes back when the last ends.
 */
async function withoutHubConsoleLines<T>(call: () => Promise<T>): Promise<T> {
  if (quieted++ === 0) {
    hubConsoleDebug = console.debug;
    console.debug = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && HUB_DOWNLOAD_LINE.test(args[0])) return;
      hubConsoleDebug(...args);
    };
  }
  try {
    return await call();
  } finally {
    if (--quieted === 0) console.debug = hubConsoleDebug;
  }
}

async function poolingConfigPath(folder: string): Promise<string> {
  const modules = await readJsonIfExists<Array<{ type: string; path: string }>>(join(folder, 'modules.json'));
  const pooling = modules?.find((module) => module.type.endsWith('.Pooling'));
  return `${pooling?.path ?? '1_Pooling'}/config.json`;
}
