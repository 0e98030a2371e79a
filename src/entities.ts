import { EmbeddingEntity } from './receiver/embedding.entity';
import { TASK_ENTITIES } from './task/task.entities';

/**
 * Every entity of the service, put together here, above the features that own them: the database layer below
 * knows none of them (the app, the TypeORM CLI and the schema test pass this list).
 */
export const ENTITIES = [...TASK_ENTITIES, EmbeddingEntity];
