import type { TestApp } from './app.js';
import { PreparedSql } from '../../src/database/prepared-sql.js';

export interface SentStatement {
  sql: string;
  params: unknown[];
}

/**
 * Calls `onStatement` with every statement the app sends from now on, through
 * TypeORM's query runners or as a prepared statement (PreparedSql: the hot
 * paths on PostgreSQL; on PGlite it goes through TypeORM in turn, and is
 * reported once).
 */
export function captureSql(t: TestApp, onStatement: (statement: SentStatement) => void): void {
  let inPrepared = 0;
  const prepared = t.app.get(PreparedSql);
  const preparedQuery = prepared.query.bind(prepared);
  prepared.query = (async (sql: string, params: unknown[], ...rest: unknown[]) => {
    onStatement({ sql, params: params ?? [] });
    inPrepared++;
    try {
      return await (preparedQuery as (...a: unknown[]) => Promise<unknown>)(sql, params, ...rest);
    } finally {
      inPrepared--;
    }
  }) as typeof prepared.query;

  const createRunner = t.dataSource.createQueryRunner.bind(t.dataSource);
  t.dataSource.createQueryRunner = (...args: Parameters<typeof createRunner>) => {
    const runner = createRunner(...args);
    const query = runner.query.bind(runner);
    runner.query = ((sql: string, params?: unknown[], ...rest: unknown[]) => {
      if (!inPrepared) onStatement({ sql, params: params ?? [] });
      return (query as (...a: unknown[]) => Promise<unknown>)(sql, params, ...rest);
    }) as typeof runner.query;
    return runner;
  };
}
