import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { types } from 'pg';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source.options';

// Ids are bigint identities; parse them (and counts) as numbers, exact up to 2^53, which no table here reaches.
types.setTypeParser(types.builtins.INT8, (value) => Number(value));

/** TypeORM on the server named by the configuration (main.ts starts the embedded one when none is named). */
@Module({})
export class DatabaseModule {
  static forRoot(): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [AppConfig],
          useFactory: ({ database }: AppConfig) => {
            if (!database.url) throw new Error('database.url is unset: main.ts starts the embedded server first');
            return dataSourceOptions({ ...database, url: database.url });
          },
        }),
      ],
    };
  }
}
