import { ApiClient } from '../api-client';
import { Io } from '../command';
import { EXIT } from '../errors';
import { exitCodeFor, followTask, outcomeMessage } from '../follow';
import { progressRenderer } from '../progress';

export const DEFAULT_INTERVAL_MS = 1000;

/**
 * Follows a task to its end with a progress bar on stderr and says how it ended; Ctrl-C stops following
 * (the task goes on) and says how to pick it up again.
 */
export async function followAndReport(client: ApiClient, id: number, intervalMs: number, io: Io): Promise<number> {
  const renderer = progressRenderer(io.stderr);
  const onInterrupt = () => {
    renderer.close();
    io.stderr.write(`stopped following task ${id}; it goes on (embedding-tasks watch ${id})\n`);
    process.exit(EXIT.interrupted);
  };
  process.once('SIGINT', onInterrupt);
  try {
    const task = await followTask(client, id, { intervalMs, renderer });
    io.stderr.write(`${await outcomeMessage(client, task)}\n`);
    return exitCodeFor(task);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
