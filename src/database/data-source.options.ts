import { types } from 'pg';
import { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations';
import { SafeTypeOrmLogger } from './safe-typeorm-logger';

// Ids and counters are bigint; parse them (and counts) as numbers, exact up to 2^53, which no table here reaches.
// Set here, where every data source (app, CLI, tests, benchmarks) gets its options.
types.setTypeParser(types.builtins.INT8, (value) => Number(value));

/** The entity classes a data source maps. */
export type EntityList = NonNullable<DataSourceOptions['entities']>;

export const MIGRATIONS_TABLE = 'migrations';
export const SCHEMA = 'mgmt';

export interface DatabaseConnection {
  url: string;
  poolSize?: number;
  logging?: boolean;
  runMigrations?: boolean;
  /** How long a query waits for a connection (a new one, or a free one of the pool); 0: no limit. */
  connectTimeoutMs?: number;
}

/**
 * The one place that turns a connection into TypeORM options: app, CLI and tests share it. The entities come from
 * the caller (src/entities.ts for the whole service, a feature's own list in its repository tests): this layer sits
 * below the features and names none of them. Migrations need none.
 */
export function dataSourceOptions(connection: DatabaseConnection, entities: EntityList = []): DataSourceOptions {
  return {
    type: 'postgres',
    url: connection.url,
    entities,
    migrations: MIGRATIONS,
    // The migrations table lives in public: the first migration creates the mgmt schema itself.
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsRun: connection.runMigrations ?? false,
    migrationsTransactionMode: 'each',
    synchronize: false,
    // Every call reaches the logger, which decides; it never prints a query's parameters (chunk texts, metadata).
    logging: true,
    logger: new SafeTypeOrmLogger(connection.logging ?? false),
    // A database that does not answer (a host gone, a full pool) fails a request after connectTimeoutMs, which the
    // service answers with 503, instead of holding it until TCP gives up minutes later.
    extra: {
      max: connection.poolSize ?? 10,
      application_name: 'embedding-tasks',
      connectionTimeoutMillis: connection.connectTimeoutMs ?? 0,
    },
  };
}
