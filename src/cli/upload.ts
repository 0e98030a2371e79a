import { ApiClient, ChunkInput, NewTask, Task } from './api-client';
import { ApiError, CliError } from './errors';
import { messageOf } from '../common/message-of';

/** The server's default TASK_MAX_CHUNKS_PER_REQUEST. */
export const DEFAULT_BATCH = 10_000;

export interface UploadEvents {
  /** After each accepted request. */
  uploaded?(task: Task, sent: number, total: number): void;
  /** The server refused a request as too large (413); the batch was halved. */
  halved?(from: number, to: number): void;
}

/**
 * Creates the task with the first batch of chunks (POST /tasks), then adds the rest batch by batch
 * (POST /tasks/:id/chunks). A 413 (too many chunks, or a body over the server's byte limit) halves the batch
 * and sends it again, so the CLI need not know the server's limits.
 */
export async function uploadTask(
  client: ApiClient,
  task: Omit<NewTask, 'chunks'>,
  chunks: ChunkInput[],
  batchSize: number,
  events: UploadEvents = {},
): Promise<Task> {
  let size = Math.max(1, Math.min(batchSize, chunks.length));
  let created: Task | undefined;
  let sent = 0;
  while (sent < chunks.length) {
    const batch = chunks.slice(sent, sent + size);
    try {
      created = created
        ? await client.addChunks(created.id, batch)
        : await client.createTask({ ...task, chunks: batch });
    } catch (error) {
      if (error instanceof ApiError && error.status === 413 && size > 1) {
        const halved = Math.floor(size / 2);
        events.halved?.(size, halved);
        size = halved;
        continue;
      }
      throw created ? incompleteUpload(created, sent, chunks.length, error) : error;
    }
    sent += batch.length;
    events.uploaded?.(created, sent, chunks.length);
  }
  return created!;
}

/**
 * The task exists but holds only part of the input. The usual cause is a 409: the server adds chunks only to a
 * pending or running task, and a fast sender can finish the first batches before the rest arrive.
 */
function incompleteUpload(task: Task, sent: number, total: number, error: unknown): CliError {
  const reason = messageOf(error);
  const exitCode = error instanceof CliError ? error.exitCode : undefined;
  return new CliError(
    `task ${task.id} holds only ${sent} of the ${total} chunks: adding the rest failed: ${reason}`,
    exitCode,
  );
}
