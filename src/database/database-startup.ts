import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { databaseUnavailable } from '../common/db-errors.js';
import { runMigrations } from './migrate.js';

/**
 * How this process uses the database (an entry point says so: `AppModule.forRoot(config, { use })`).
 * - 'server' (the HTTP API, the default): a client must never wait on the
 *   database. Queries have a deadline; if PostgreSQL is down at start the API
 *   listens anyway, answers 503 on data routes and connects in the background.
 * - 'tool' (the CLI, the TypeORM migration CLI): fail at once when the
 *   database is down, and allow long statements (pruning years of audit
 *   events, building an index).
 */
export type DatabaseUse = 'server' | 'tool';

/** How often a server that started without its database tries again. */
export const RECONNECT_INTERVAL_MS = 500;

const ready = new WeakSet<DataSource>();
const stoppers = new WeakMap<DataSource, () => Promise<void>>();

/** Connected and migrated: the API may serve data. */
export function isDatabaseReady(dataSource: DataSource): boolean {
  return ready.has(dataSource) && dataSource.isInitialized;
}

/**
 * Stops a background connection loop (the app is closing before the database
 * came up): waits for an attempt in progress, and closes what it opened.
 */
export async function stopConnecting(dataSource: DataSource): Promise<void> {
  await stoppers.get(dataSource)?.();
}

export interface OpenOptions {
  migrate: boolean;
  /** PostgreSQL: migrate under an advisory lock. PGlite is single-process and needs none. */
  migrationLock: boolean;
  /** Keep trying in the background instead of failing when the database is unreachable. */
  waitWhenDown: boolean;
  /** Applies the migrations another way (through the owner role's own connection: DATABASE_MIGRATION_URL). */
  migrateWith?: () => Promise<unknown>;
  /** Called when a background attempt fails for a reason retrying cannot fix (a bad password, a broken migration). */
  onFatal: (error: unknown) => void;
}

/**
 * Connects and migrates. With waitWhenDown, an unreachable database is not an
 * error: the DataSource is returned unconnected (repositories can be made
 * from it; isDatabaseReady says false) and connected in the background.
 */
export async function openDataSource(dataSource: DataSource, options: OpenOptions): Promise<DataSource> {
  try {
    await connectAndMigrate(dataSource, options);
    return dataSource;
  } catch (error) {
    if (!options.waitWhenDown || !databaseUnavailable(error)) throw error;
    await discardFailedPool(dataSource);
    const logger = new Logger('Database');
    logger.warn(
      `The database is not reachable (${reasonOf(error)}): serving 503 on data routes, retrying every ${RECONNECT_INTERVAL_MS} ms`,
    );
    connectInBackground(dataSource, options, logger);
    return dataSource;
  }
}

async function connectAndMigrate(dataSource: DataSource, options: OpenOptions): Promise<void> {
  if (!dataSource.isInitialized) await dataSource.initialize();
  if (options.migrate) await (options.migrateWith ? options.migrateWith() : runMigrations(dataSource, options.migrationLock));
  ready.add(dataSource);
}

function connectInBackground(dataSource: DataSource, options: OpenOptions, logger: Logger): void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inProgress: Promise<void> | undefined;
  stoppers.set(dataSource, async () => {
    stopped = true;
    clearTimeout(timer);
    await inProgress;
    // An attempt that connected while the app was closing: TypeORM's own shutdown saw it unconnected.
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    else await discardFailedPool(dataSource);
  });
  const attempt = async () => {
    if (stopped) return;
    try {
      await connectAndMigrate(dataSource, options);
      if (stopped) return;
      stoppers.delete(dataSource);
      logger.log('The database is reachable: serving');
    } catch (error) {
      if (stopped) return;
      await discardFailedPool(dataSource);
      if (!databaseUnavailable(error)) {
        options.onFatal(error);
        return;
      }
      timer = setTimeout(run, RECONNECT_INTERVAL_MS);
    }
  };
  const run = () => {
    inProgress = attempt();
  };
  timer = setTimeout(run, RECONNECT_INTERVAL_MS);
}

/**
 * TypeORM's driver keeps the pool it made when a later step of initialize()
 * failed (the server answered "starting up"); the next attempt makes another.
 * End the stale one so no connection leaks. The driver's own disconnect() ends
 * it (and its replicas' pools); with no pool it throws "connection is not set",
 * which here means there is nothing to end.
 */
async function discardFailedPool(dataSource: DataSource): Promise<void> {
  if (dataSource.isInitialized) return;
  await dataSource.driver.disconnect().catch(() => undefined);
}

/** The error's code or first words: never its parameters. */
function reasonOf(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') return code;
  return typeof message === 'string' ? message.slice(0, 80) : 'unknown error';
}
