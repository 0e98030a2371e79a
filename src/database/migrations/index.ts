import { MigrationInterface } from 'typeorm';
import { InitialSchema1764028800000 } from './1764028800000-initial-schema';
import { Pipeline1764115200000 } from './1764115200000-pipeline';
import { FailedIndex1764201600000 } from './1764201600000-failed-index';
import { TaskCounters1764288000000 } from './1764288000000-task-counters';
import { LinkIndexes1764288000001 } from './1764288000001-link-indexes';
import { TaskTokens1764374400000 } from './1764374400000-task-tokens';
import { SqlWriters1765000000000 } from './1765000000000-sql-writers';
import { WorkerHeartbeat1765200000000 } from './1765200000000-worker-heartbeat';

/** Every migration in order; a new one is appended here. */
export const MIGRATIONS: (new () => MigrationInterface)[] = [
  InitialSchema1764028800000,
  Pipeline1764115200000,
  FailedIndex1764201600000,
  TaskCounters1764288000000,
  LinkIndexes1764288000001,
  TaskTokens1764374400000,
  SqlWriters1765000000000,
  WorkerHeartbeat1765200000000,
];
