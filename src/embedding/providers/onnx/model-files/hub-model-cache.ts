import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { EmbeddingError, EmbeddingErrorCode } from '../../../embedding.errors';
import { EmbeddingLogger } from '../../embedding-model';
import { readJsonIfExists } from './json-file';
import { EmbeddingModelSource, modelFilesUnavailable, onnxFileCandidates } from './model-source';

export interface HubCacheOptions {
  /** Where downloaded models live. Default: transformers.js `env.cacheDir`. */
  cacheDir?: string;
  /** Never download; use only what is cached. Default: `!env.allowRemoteModels` of transformers.js. */
  offline?: boolean;
}

type HubModelSource = EmbeddingModelSource & { hubId: string };
type TransformersEnv = (typeof import('@huggingface/transformers'))['env'];

const OPTIONAL_FILES = [
  'tokenizer_config.json',
  'special_tokens_map.json',
  'modules.json',
  'sentence_bert_config.json',
  'config_sentence_transformers.json',
];

/**
 * Makes sure a hub model's files are in the cache and returns the cache folder, which has the hub's own layout.
 * transformers.js 4.3 exports no file-level download function, so this follows its public `env` (remote host,
 * path template, fetch, cache dir, allowRemoteModels) and its file-cache layout (`<cacheDir>/<repo>/<file>`,
 * `<cacheDir>/<repo>/<revision>/<file>` for a pinned revision), so both share one cache.
 */
export async function ensureHubModelFiles(
  source: HubModelSource,
  options: HubCacheOptions = {},
  logger?: EmbeddingLogger,
): Promise<string> {
  const { env } = await import('@huggingface/transformers');
  const revision = source.revision ?? 'main';
  const cacheDir = options.cacheDir ?? env.cacheDir ?? '.cache';
  const folder = join(cacheDir, source.hubId, ...(revision === 'main' ? [] : [revision]));
  const downloader = new HubDownloader(env, source, revision, folder, options.offline ?? !env.allowRemoteModels);

  const cudaFile = source.cudaModelFile ? [onnxFileCandidates(source.cudaModelFile)[0]] : [];
  const required = ['config.json', 'tokenizer.json', onnxFileCandidates(source.modelFile)[0], ...cudaFile];
  const missing = await downloader.fetchAll(required);
  if (missing.length > 0) {
    const reason = downloader.offline
      ? 'offline (remote models disabled) and not cached'
      : downloader.failures.join('; ');
    throw modelFilesUnavailable(source.id, missing, [folder, downloader.urlOf('')], reason);
  }
  await downloader.fetchAll(OPTIONAL_FILES);
  await downloader.fetchAll([await poolingConfigPath(folder)]);
  logger?.log(`Model "${source.id}" files ready in ${folder}`);
  return folder;
}

async function poolingConfigPath(folder: string): Promise<string> {
  const modules = await readJsonIfExists<Array<{ type: string; path: string }>>(join(folder, 'modules.json'));
  const pooling = modules?.find((module) => module.type.endsWith('.Pooling'));
  return `${pooling?.path ?? '1_Pooling'}/config.json`;
}

class HubDownloader {
  /** Why files could not be downloaded, for the error message. */
  readonly failures: string[] = [];

  constructor(
    private readonly env: TransformersEnv,
    private readonly source: HubModelSource,
    private readonly revision: string,
    private readonly folder: string,
    readonly offline: boolean,
  ) {}

  /** Downloads the files not yet cached; returns those still missing afterwards. */
  async fetchAll(files: string[]): Promise<string[]> {
    const missing: string[] = [];
    for (const file of files) {
      if (!existsSync(join(this.folder, file)) && !(await this.tryFetch(file))) {
        missing.push(file);
      }
    }
    return missing;
  }

  urlOf(file: string): string {
    const path = this.env.remotePathTemplate
      .replaceAll('{model}', this.source.hubId)
      .replaceAll('{revision}', encodeURIComponent(this.revision));
    return joinUrl(this.env.remoteHost, path, file);
  }

  /** False when the file is absent upstream or unreachable; other HTTP failures (401, 500, ...) throw. */
  private async tryFetch(file: string): Promise<boolean> {
    if (this.offline) {
      return false;
    }
    const url = this.urlOf(file);
    const response = await this.env.fetch(url, { headers: authorizationHeaders(url) }).catch((error: Error) => {
      this.failures.push(`GET ${url} failed: ${error.message}`);
    });
    if (response?.status === 404) {
      this.failures.push(`GET ${url} answered 404`);
    }
    if (!response || response.status === 404) {
      return false;
    }
    if (!response.ok) {
      throw new EmbeddingError(
        EmbeddingErrorCode.ModelFilesUnavailable,
        `Model "${this.source.id}": GET ${url} answered ${response.status}`,
      );
    }
    await writeAtomically(join(this.folder, file), response.body as ReadableStream);
    return true;
  }
}

function authorizationHeaders(url: string): Record<string, string> {
  const token = process.env.HF_TOKEN ?? process.env.HF_ACCESS_TOKEN;
  const isHub = /^https:\/\/(huggingface\.co|hf\.co)\//.test(url);
  return token && isHub ? { Authorization: `Bearer ${token}` } : {};
}

/** Streams to a temporary file and renames it, so concurrent starts never read a half-downloaded model. */
async function writeAtomically(path: string, body: ReadableStream): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    await pipeline(Readable.fromWeb(body), createWriteStream(temporary));
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}

function joinUrl(...parts: string[]): string {
  return parts
    .filter((part) => part.length > 0)
    .map((part, index) => (index === 0 ? part.replace(/\/+$/, '') : part.replace(/^\/+|\/+$/g, '')))
    .join('/');
}
