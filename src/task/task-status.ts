export const TASK_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const CHUNK_STATUSES = ['pending', 'in_progress', 'done', 'failed'] as const;
export type ChunkStatus = (typeof CHUNK_STATUSES)[number];

/** A task in these states will not change again unless someone retries it. */
export const FINISHED_TASK_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];
