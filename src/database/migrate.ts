import { type DataSource, MigrationExecutor } from 'typeorm';
import { withoutQueryDeadline } from './bounded-client.js';

/** Arbitrary, fixed key: every instance of this app takes the same lock. */
const MIGRATION_LOCK_KEY = 7_318_004_211;

/**
 * Applies pending migrations. On PostgreSQL this happens under a session-level
 * advisory lock, so several instances starting together apply them once: the
 * others wait, then find nothing pending. PGlite is single-process (its data
 * directory cannot be shared), so no lock is needed there, and taking one
 * would hold its only connection.
 */
export async function runMigrations(dataSource: DataSource, useLock: boolean): Promise<string[]> {
  // Waiting for another instance's migrations, or building an index on a big table, takes as long as it takes.
  return withoutQueryDeadline(() => migrate(dataSource, useLock));
}

async function migrate(dataSource: DataSource, useLock: boolean): Promise<string[]> {
  if (!useLock) {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  }
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    // The server's statement_timeout (5 s) is for requests; RESET below gives it back before the pool reuses the connection.
    await runner.query('SET statement_timeout = 0');
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      // On the connection that holds the lock: with DB_POOL_SIZE=1 there is no other.
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'each';
      const applied = await executor.executePendingMigrations();
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      await runner.query('RESET statement_timeout');
    }
  } finally {
    await runner.release();
  }
}
