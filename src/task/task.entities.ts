import { EmbedChunkEntity } from './embed-chunk.entity';
import { EmbedTaskChunkEntity } from './embed-task-chunk.entity';
import { TaskEntity } from './task.entity';
import { TaskTallyEntity } from './task-tally.entity';
import { WorkerEntity } from './worker.entity';

/** The task feature's tables, listed rather than globbed so the same list works under ts-jest, tsx and dist/. */
export const TASK_ENTITIES = [TaskEntity, EmbedChunkEntity, EmbedTaskChunkEntity, TaskTallyEntity, WorkerEntity];
