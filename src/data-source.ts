import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from './config/config.loader';
import { dataSourceOptions } from './database/data-source.options';
import { ENTITIES } from './entities';

/**
 * The DataSource for TypeORM's CLI (`npm run typeorm -- migration:generate …`). It needs DATABASE_URL:
 * the CLI runs against a server you name, never the embedded one.
 */
const { database } = loadConfig();
if (!database.url) throw new Error('Set DATABASE_URL to run TypeORM CLI commands');
export default new DataSource(dataSourceOptions({ url: database.url }, ENTITIES));
