import { type DynamicModule, Global, Module } from '@nestjs/common';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { type DatabaseConfig, databaseKind } from '../config/app-config.js';
import { buildDataSourceOptions } from './data-source-options.js';
import { type DatabaseUse, openDataSource } from './database-startup.js';
import { DatabaseStartupShutdown } from './database-startup.shutdown.js';
import { migrateAsOwner } from './db-roles.js';
import { releasePGliteDataDir } from './pglite-lock.js';
import { PreparedSql } from './prepared-sql.js';
import { ReplicaSet } from './replicas.js';

/**
 * TypeORM's DataSource for `database`, connected and migrated before the app
 * serves data, and the database helpers every module may use. `use` says who
 * runs: a server (bounded queries; waits for a PostgreSQL that is down) or a
 * tool (fails at once; long statements allowed).
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(database: DatabaseConfig, use: DatabaseUse): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            ...buildDataSourceOptions(database, use),
            // dataSourceFactory connects (or, for a server whose database is down, connects later): not TypeOrmModule.
            manualInitialization: true,
            // A tool fails fast (about 3 s) when the database is unreachable; a server does not fail for that (it waits).
            retryAttempts: 2,
            retryDelay: 1000,
          }),
          dataSourceFactory: (options?: DataSourceOptions) => openAppDataSource(options, database, use),
        }),
      ],
      providers: [
        {
          provide: ReplicaSet,
          inject: [getDataSourceToken()],
          // Tools (the CLI, migrations) read and write the primary only.
          useFactory: (dataSource: DataSource) => new ReplicaSet(use === 'server' ? database : { ...database, replicaUrls: [] }, dataSource),
        },
        PreparedSql,
        DatabaseStartupShutdown,
      ],
      exports: [PreparedSql, ReplicaSet],
    };
  }
}

async function openAppDataSource(options: DataSourceOptions | undefined, database: DatabaseConfig, use: DatabaseUse) {
  if (!options) throw new Error('TypeORM options missing');
  // PGlite is single-process (no migration lock) and embedded (never "down").
  const postgres = databaseKind(database) === 'postgres';
  const dataSource = await openDataSource(new DataSource(options), {
    migrate: database.migrateOnStart,
    migrationLock: postgres,
    waitWhenDown: postgres && use === 'server',
    // Separate roles: the app's connection may not change the schema; the owner's applies migrations and grants.
    migrateWith: postgres && database.migrationUrl ? () => migrateAsOwner(database) : undefined,
    onFatal: (error) => {
      // Retrying cannot help (a wrong password, a failing migration): stop, so the supervisor sees it.
      process.stderr.write(`Failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  });
  const dataDir = database.pgliteDataDir;
  if (!postgres && !dataDir.startsWith('memory://')) {
    // Closing the app (SIGTERM included) frees the embedded database for the next process.
    const destroy = dataSource.destroy.bind(dataSource);
    dataSource.destroy = async () => {
      await destroy();
      releasePGliteDataDir(dataDir);
    };
  }
  return dataSource;
}
