import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions, EntityList } from './data-source.options';

/** TypeORM on the server named by the configuration (main.ts starts the embedded one when none is named). */
@Module({})
export class DatabaseModule {
  /** `entities`: every entity of the service (src/entities.ts), named by the app above this layer. */
  static forRoot(entities: EntityList): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [AppConfig],
          useFactory: ({ database }: AppConfig) => {
            if (!database.url) throw new Error('database.url is unset: main.ts starts the embedded server first');
            // main.ts has waited for the server already (logging as it goes); TypeORM's own retries log only once
            // the app is up, so they stay short.
            return {
              ...dataSourceOptions({ ...database, url: database.url }, entities),
              retryAttempts: 2,
              retryDelay: 1000,
            };
          },
        }),
      ],
    };
  }
}
