import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** bench/results (gitignored). */
export const RESULTS_DIR = resolve(__dirname, '..', 'results');

/** Writes `<part>-<timestamp>.json` and `latest-<part>.json`; returns the timestamped path. */
export async function saveResults(part: string, results: unknown, startedAt: Date): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const body = JSON.stringify(results, null, 2) + '\n';
  const path = join(RESULTS_DIR, `${part}-${stamp}.json`);
  await writeFile(path, body);
  await writeFile(join(RESULTS_DIR, `latest-${part}.json`), body);
  return path;
}
