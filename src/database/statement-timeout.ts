import type { DataSource, EntityManager } from 'typeorm';

/** A search's own bound on PostgreSQL (the general one, for every statement, is 5 s). */
export const SEARCH_STATEMENT_TIMEOUT_MS = 1000;

/** True on PostgreSQL; PGlite comes with a custom driver. */
export function isPostgres(dataSource: DataSource): boolean {
  return (dataSource.options as { driver?: unknown }).driver === undefined;
}

/**
 * Runs `work` in a transaction whose statements PostgreSQL cancels after `ms`
 * (SET LOCAL lasts until the transaction ends, so the pooled connection goes
 * back with its usual timeout). A cancelled statement is SQLSTATE 57014,
 * answered 503 with Retry-After. PGlite has no statement timeout: there,
 * `work` runs as it is.
 *
 * BEGIN and SET LOCAL travel as one simple query (two statements, no
 * parameters): one round trip fewer than TypeORM's transaction() and a
 * separate SET, on the search path every search takes (bench scenario 5).
 */
export async function withStatementTimeout<T>(
  dataSource: DataSource,
  ms: number,
  work: (manager?: EntityManager) => Promise<T>,
): Promise<T> {
  if (!isPostgres(dataSource)) return work(undefined);
  const runner = dataSource.createQueryRunner('master');
  try {
    await runner.query(`BEGIN; SET LOCAL statement_timeout = ${Math.max(1, Math.trunc(ms))}`);
    const result = await work(runner.manager);
    await runner.query('COMMIT');
    return result;
  } catch (error) {
    // Whatever failed (the SET, the work, the COMMIT), the connection goes back outside any transaction;
    // a broken one fails the ROLLBACK too, and the pool drops it.
    await runner.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await runner.release();
  }
}
