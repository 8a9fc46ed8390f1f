import { mkdirSync } from 'node:fs';
import { types } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { DataSourceOptions } from 'typeorm';
import { migrations } from '../../migrations/index.js';
import { type DatabaseConfig, databaseKind } from '../config/app-config.js';
import { boundedClient } from './bounded-client.js';
import type { DatabaseUse } from './database-startup.js';
import { entities } from './entities.js';
import { lockPGliteDataDir } from './pglite-lock.js';
import { serializedPGliteDriver } from './pglite-pool.js';

/** A request never waits longer than this for one query's answer (then 503). Below the hang budget of 3 s. */
export const QUERY_DEADLINE_MS = 2500;
/** Server side: the most one statement may run. A request is answered 503 sooner (QUERY_DEADLINE_MS); this stops the work. */
const STATEMENT_TIMEOUT_MS = 5000;

/**
 * The one place that builds TypeORM options: used by the app module and by
 * ormconfig.ts (the migration CLI). `synchronize` is never on: the schema
 * comes from migrations only. A server bounds every query; a tool (the CLI,
 * migrations) may run long statements.
 */
export function buildDataSourceOptions(db: DatabaseConfig, use: DatabaseUse = 'server'): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities,
    migrations,
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    // Extensions come from migrations; gen_random_uuid() is built in (PostgreSQL 13+).
    installExtensions: false,
    uuidExtension: 'pgcrypto' as const,
    // Off: TypeORM's error log prints query parameters, which can be patient data.
    // Unexpected database errors reach the exception filter, which logs them without values.
    logging: false,
  };

  if (databaseKind(db) === 'postgres') {
    const connection = db.url
      ? { url: db.url }
      : { host: db.host, port: db.port, username: db.user, password: db.password, database: db.name };
    return {
      ...common,
      ...connection,
      poolSize: db.poolSize,
      extra: {
        max: db.poolSize,
        // Also how long a request waits for a free connection before its 503.
        connectionTimeoutMillis: 2000,
        ...(use === 'server'
          ? {
              Client: boundedClient(QUERY_DEADLINE_MS),
              // Bounded work per statement and per idle transaction.
              options: `-c statement_timeout=${STATEMENT_TIMEOUT_MS} -c idle_in_transaction_session_timeout=10000`,
            }
          : { options: '-c idle_in_transaction_session_timeout=10000' }),
      },
    };
  }

  const dataDir = db.pgliteDataDir;
  if (!dataDir.startsWith('memory://')) {
    mkdirSync(dataDir, { recursive: true });
    lockPGliteDataDir(dataDir);
  }
  return {
    ...common,
    // int8 as a string, as pg returns it.
    driver: serializedPGliteDriver({ dataDir, extensions: { pg_trgm }, parsers: { [types.INT8]: (v: string) => v } }),
  } as DataSourceOptions;
}
