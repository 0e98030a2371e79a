import { ChildProcess, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { freePort } from '../../test/ports';

/** The service under attack: src/main.ts in a process of its own, as it runs in production (API_KEY set). */
export interface ServiceUnderAttack {
  child: ChildProcess;
  url: string;
  alive(): boolean;
  /** Resets the kernel's resident-set high-water mark (VmHWM), so the next peakRssMiB is one attack's own. */
  resetPeak(): Promise<void>;
  peakRssMiB(): Promise<number>;
  rssMiB(): Promise<number>;
  stop(): Promise<void>;
}

/** The checkout whose src/main.ts is started: this one, or BENCH_HOSTILE_ROOT (another checkout, for "before"). */
export const serviceRoot = (): string => resolve(process.env.BENCH_HOSTILE_ROOT || resolve(__dirname, '..', '..'));

export async function startService(env: Record<string, string>): Promise<ServiceUnderAttack> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: serviceRoot(),
    env: { PATH: process.env.PATH, LOG_LEVEL: 'log', ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((done) => child.once('exit', done));
  await new Promise<void>((ready, fail) => {
    const onData = (data: Buffer) => {
      output = (output + data.toString()).slice(-20_000);
      if (output.includes('Listening on')) ready();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => fail(new Error(`the service exited with ${code}:\n${output.slice(-3000)}`)));
  });
  const status = () => readFile(`/proc/${child.pid}/status`, 'utf8');
  const field = async (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(await status())![1]) / 1024;
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    alive: () => child.exitCode === null && child.signalCode === null,
    resetPeak: () => writeFile(`/proc/${child.pid}/clear_refs`, '5'),
    peakRssMiB: () => field('VmHWM'),
    rssMiB: () => field('VmRSS'),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
