import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { messageOf } from '../../src/common/message-of';

export const root = join(__dirname, '../..');

/** Why the Docker tests cannot run here, or undefined when an engine answers. */
export function dockerMissing(): string | undefined {
  const probe = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.error) return `docker is not installed (${probe.error.message}): the Docker tests are skipped`;
  if (probe.status !== 0) {
    return `no Docker engine answers (docker info: ${probe.stderr.trim()}): the Docker tests are skipped`;
  }
  return undefined;
}

/** `describe` where a Docker engine answers, `describe.skip` with the reason printed where none does. */
export function describeWithDocker(): jest.Describe {
  const missing = dockerMissing();
  if (missing) console.warn(missing);
  return missing ? describe.skip : describe;
}

/**
 * Runs the docker CLI (or `docker compose …`) from the repository root; resolves with its output, rejects with it
 * (both streams) on a non-zero exit or past `timeoutMs`.
 */
export function docker(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { cwd: root, env: { ...process.env, ...options.env } });
    let [stdout, output] = ['', ''];
    child.stdout.on('data', (data: Buffer) => ((stdout += data.toString()), (output += data.toString())));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(stdout.trim());
      reject(new Error(`docker ${args.join(' ')} failed (${signal ?? code}):\n${output.slice(-4000)}`));
    });
  });
}

/** `docker build` of the CPU image, as the docs say, on the host's network (RUN steps reach the npm registry). */
export async function buildImage(tag: string): Promise<void> {
  await docker(['build', '--network', 'host', '-f', 'docker/Dockerfile', '-t', tag, '.'], { timeoutMs: 20 * 60_000 });
}

/** The size `docker image inspect` reports, in bytes (uncompressed). */
export async function imageSize(image: string): Promise<number> {
  return Number(await docker(['image', 'inspect', '--format', '{{.Size}}', image]));
}

export async function inspect(container: string, format: string): Promise<string> {
  return docker(['inspect', '--format', format, container]);
}

/** Polls until `probe` returns a value, or fails naming what it last saw. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${messageOf(last)}` : ''}`);
}
