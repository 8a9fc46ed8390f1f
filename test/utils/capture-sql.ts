import type { TestApp } from './app.js';
import { PreparedSql } from '../../src/database/prepared-sql.js';

export interface SentStatement {
  sql: string;
  params: unknown[];
}

/**
 * Calls `onStatement` with every statement the app sends from now on, through
 * TypeORM's query runners or as a prepared statement (PreparedSql: the hot
 * paths on PostgreSQL, searches on their own pool; on PGlite they go through
 * TypeORM in turn, and are reported once).
 */
export function captureSql(t: TestApp, onStatement: (statement: SentStatement) => void): void {
  let inPrepared = 0;
  const prepared = t.app.get(PreparedSql);
  const preparedQuery = prepared.query.bind(prepared);
  const preparedSearch = prepared.search.bind(prepared);
  const wrap = (run: (...a: unknown[]) => Promise<unknown>) =>
    async (sql: string, params: unknown[], ...rest: unknown[]) => {
      // A search on PGlite runs through query() in turn: reported once.
      if (inPrepared) return run(sql, params, ...rest);
      onStatement({ sql, params: params ?? [] });
      inPrepared++;
      try {
        return await run(sql, params, ...rest);
      } finally {
        inPrepared--;
      }
    };
  prepared.query = wrap(preparedQuery as (...a: unknown[]) => Promise<unknown>) as typeof prepared.query;
  prepared.search = wrap(preparedSearch as (...a: unknown[]) => Promise<unknown>) as typeof prepared.search;

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
