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
 */
export async function withStatementTimeout<T>(
  dataSource: DataSource,
  ms: number,
  work: (manager?: EntityManager) => Promise<T>,
): Promise<T> {
  if (!isPostgres(dataSource)) return work(undefined);
  return dataSource.transaction(async (manager) => {
    await manager.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.trunc(ms))}`);
    return work(manager);
  });
}
