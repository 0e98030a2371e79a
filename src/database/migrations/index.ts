import { InitialSchema1764028800000 } from './1764028800000-initial-schema';
import { Pipeline1764115200000 } from './1764115200000-pipeline';
import { FailedIndex1764201600000 } from './1764201600000-failed-index';

/** Every migration in order; a new one is appended here. */
export const MIGRATIONS: Function[] = [InitialSchema1764028800000, Pipeline1764115200000, FailedIndex1764201600000];
