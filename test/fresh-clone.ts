import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

/**
 * What a clone of this working tree would hold (tracked files and new ones git does not ignore, so uncommitted work
 * is checked too), in a temporary folder. node_modules is linked from this checkout: `npm ci` needs the registry.
 */
export async function freshClone(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'embedding-tasks-clone-'));
  // Under root the embedded PostgreSQL runs as the postgres user, which must reach ./data inside.
  await chmod(dir, 0o755);
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT });
  const files = listed
    .toString()
    .split('\0')
    .filter((file) => file && existsSync(join(ROOT, file)));
  for (const file of files) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await copyFile(join(ROOT, file), join(dir, file)); // keeps the mode, so .ci/run stays executable
  }
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

export async function removeClone(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface ShellRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** A bash script (a README block, as written) in `cwd`, in a process group of its own so it can be stopped whole. */
export function shell(script: string, cwd: string, env: Record<string, string | undefined>): ShellRun {
  const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (data: Buffer) => {
    output += data.toString();
    process.stdout.write(data); // the test's own output, shown when it fails
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  return { child, output: () => output, exited };
}

/** Runs a script to its end; throws with its output unless it exits 0. */
export async function run(script: string, cwd: string, env: Record<string, string | undefined>): Promise<string> {
  const { output, exited } = shell(script, cwd, env);
  const code = await exited;
  if (code !== 0) throw new Error(`exit ${code} from:\n${script}\n--- output ---\n${output()}`);
  return output();
}

/**
 * Signals the whole group (npm, its shell, the service and its PostgreSQL), as Ctrl-C in a terminal does with
 * SIGINT; SIGKILL if it has not ended in time.
 */
export async function stop(run: ShellRun, signal: NodeJS.Signals = 'SIGINT', graceMs = 30_000): Promise<void> {
  const send = (name: NodeJS.Signals) => {
    try {
      process.kill(-run.child.pid!, name);
    } catch {
      // The group has already ended.
    }
  };
  send(signal);
  const timer = setTimeout(() => send('SIGKILL'), graceMs);
  await run.exited;
  clearTimeout(timer);
}

/** Resolves when `text` appears in the output; throws with the output when the run ends first or time runs out. */
export async function waitForOutput(run: ShellRun, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ended = false;
  void run.exited.then(() => (ended = true));
  while (!run.output().includes(text)) {
    if (ended || Date.now() > deadline) {
      throw new Error(`"${text}" never came (${ended ? 'the command ended' : 'timed out'}):\n${run.output()}`);
    }
    await new Promise((wake) => setTimeout(wake, 100));
  }
}
