import pg from 'pg';
import type { TestApp } from './app.js';

export type Query = (sql: string, params?: unknown[]) => Promise<unknown[]>;

/**
 * One transaction as the database superuser, as an attacker holding the
 * database would act: on PostgreSQL a connection of its own, on PGlite the
 * app's (there is only one role and one session).
 */
export async function asSuperuser<T>(t: TestApp, work: (query: Query) => Promise<T>): Promise<T> {
  if (t.db.kind === 'pglite') return t.dataSource.transaction((m) => work((sql, params) => m.query(sql, params)));
  const client = new pg.Client({ connectionString: t.db.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query('BEGIN');
    const result = await work(async (sql, params) => (await client.query(sql, params)).rows);
    await client.query('COMMIT');
    return result;
  } finally {
    await client.end();
  }
}
