import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { readBody } from './processes';

interface HubFile {
  content: Buffer;
  /** Git's blob id (sha1), or for LFS files the sha256 the hub reports as `lfs.oid` and as the ETag. */
  oid: string;
  lfs: boolean;
}

interface HubRepo {
  commit: string;
  files: Map<string, HubFile>;
}

/** Files the hub keeps in Git LFS, as `.gitattributes` of hub repositories declare them. */
const LFS = /\.(onnx|bin|safetensors)$/;

/**
 * A Hugging Face hub for the tests, over real HTTP, speaking the part of its API that @huggingface/hub uses to
 * download files: `GET /api/models/<repo>/revision/<rev>` (the commit a branch names), `POST
 * /api/models/<repo>/paths-info/<rev>` (which files exist, with their ids), and `GET /<repo>/resolve/<rev>/<path>`
 * with ranges, ETags and the hub's `X-Error-Code` on 404. Each repository serves a folder (a generated model) at one
 * commit; `main` and any branch named in `branches` resolve to it.
 */
export class FakeHub {
  readonly requests: string[] = [];
  url = '';
  private readonly repos = new Map<string, HubRepo>();
  private server?: Server;

  constructor(private readonly branches = ['main']) {}

  /** Serves `folder` as repository `name` (owner/name); the commit id is derived from the content. */
  async addRepo(name: string, folder: string): Promise<string> {
    const files = new Map<string, HubFile>();
    for (const path of await listFiles(folder)) {
      const content = await readFile(join(folder, path));
      const lfs = LFS.test(path);
      files.set(path, { content, lfs, oid: lfs ? sha('sha256', content) : gitBlobId(content) });
    }
    const commit = sha('sha1', Buffer.from([...files].map(([path, file]) => `${path}:${file.oid}`).join('\n')));
    this.repos.set(name, { commit, files });
    return commit;
  }

  async start(host = '127.0.0.1'): Promise<this> {
    this.server = createServer((request, response) => {
      this.requests.push(`${request.method} ${request.url}`);
      this.answer(request, response).catch((error: Error) => response.writeHead(500).end(error.message));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, host, resolve));
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://hub');
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|paths-info)\/([^/]+)$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (api && api[2] === 'revision' && request.method === 'GET') {
      return this.withRepo(response, api[1], api[3], (repo) => json(response, 200, modelInfoOf(api[1], repo)));
    }
    if (api && api[2] === 'paths-info' && request.method === 'POST') {
      const { paths } = JSON.parse(await readBody(request)) as { paths: string[] };
      return this.withRepo(response, api[1], api[3], (repo) => json(response, 200, pathsInfoOf(repo, paths)));
    }
    if (resolve && request.method === 'GET') {
      const path = decodeURIComponent(resolve[3]);
      return this.withRepo(response, resolve[1], resolve[2], (repo) => sendFile(request, response, repo, path));
    }
    json(response, 404, { error: 'Not found' });
  }

  private withRepo(response: ServerResponse, name: string, revision: string, then: (repo: HubRepo) => void): void {
    const repo = this.repos.get(name);
    if (!repo) {
      return json(response, 404, { error: 'Repository not found' }, 'RepoNotFound');
    }
    const known = this.branches.includes(decodeURIComponent(revision)) || revision === repo.commit;
    return known ? then(repo) : json(response, 404, { error: `Invalid rev id: ${revision}` }, 'RevisionNotFound');
  }
}

function modelInfoOf(name: string, repo: HubRepo) {
  const [lastModified, common] = [new Date(0).toISOString(), { private: false, gated: false, downloads: 0, likes: 0 }];
  return { _id: sha('sha1', Buffer.from(name)).slice(0, 24), id: name, sha: repo.commit, lastModified, ...common };
}

function pathsInfoOf(repo: HubRepo, paths: string[]) {
  const lastCommit = { id: repo.commit, title: 'Upload model', date: new Date(0).toISOString() };
  return paths.flatMap((path) => {
    const file = repo.files.get(path);
    if (!file) return [];
    const size = file.content.length;
    const lfs = file.lfs ? { lfs: { oid: file.oid, size, pointerSize: 134 } } : {};
    return [{ type: 'file', path, size, oid: gitBlobId(file.content), lastCommit, ...lfs }];
  });
}

/** The whole file, or the one range asked for (`bytes=a-b`), as the hub's CDN answers. */
function sendFile(request: IncomingMessage, response: ServerResponse, repo: HubRepo, path: string): void {
  const file = repo.files.get(path);
  if (!file) {
    return json(response, 404, { error: 'Entry not found' }, 'EntryNotFound');
  }
  const headers = { ETag: `"${file.oid}"`, 'X-Repo-Commit': repo.commit, 'Accept-Ranges': 'bytes' };
  const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
  if (!range) {
    response.writeHead(200, { ...headers, 'Content-Length': file.content.length }).end(file.content);
    return;
  }
  const size = file.content.length;
  const [start, end] = [Number(range[1]), range[2] ? Math.min(Number(range[2]), size - 1) : size - 1];
  const contentRange = `bytes ${start}-${end}/${size}`;
  response.writeHead(206, { ...headers, 'Content-Range': contentRange }).end(file.content.subarray(start, end + 1));
}

function json(response: ServerResponse, status: number, body: unknown, errorCode?: string): void {
  const headers = { 'Content-Type': 'application/json', ...(errorCode ? { 'X-Error-Code': errorCode } : {}) };
  response.writeHead(status, headers).end(JSON.stringify(body));
}

async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.model-'))
    .map((entry) => relative(folder, join(entry.parentPath, entry.name)))
    .sort();
}

function gitBlobId(content: Buffer): string {
  return sha('sha1', Buffer.concat([Buffer.from(`blob ${content.length}\0`), content]));
}

function sha(algorithm: 'sha1' | 'sha256', content: Buffer): string {
  return createHash(algorithm).update(content).digest('hex');
}
