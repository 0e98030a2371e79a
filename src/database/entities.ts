import { EmbeddingEntity } from '../receiver/embedding.entity';
import { EmbedChunkEntity } from '../task/embed-chunk.entity';
import { EmbedTaskChunkEntity } from '../task/embed-task-chunk.entity';
import { TaskEntity } from '../task/task.entity';
import { TaskTallyEntity } from '../task/task-tally.entity';

/** Every entity, listed rather than globbed so the same list works under ts-jest, tsx and dist/. */
export const ENTITIES = [TaskEntity, EmbedChunkEntity, EmbedTaskChunkEntity, EmbeddingEntity, TaskTallyEntity];
