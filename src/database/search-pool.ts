import pg from 'pg';
import type { DataSourceOptions } from 'typeorm';

/** A search's own bound on PostgreSQL (the general one, for every statement, is 5 s). */
export const SEARCH_STATEMENT_TIMEOUT_MS = 1000;

/** The searches' sessions in pg_stat_activity. */
export const SEARCH_APPLICATION_NAME = 'healthcare-api search';

export type PostgresOptions = Extract<DataSourceOptions, { type: 'postgres' }>;

/**
 * The connections searches run on (PostgreSQL only): a pool of its own, built
 * from the same options as TypeORM's (address, credentials, TLS, connect
 * timeout, the client-side query deadline), whose sessions start with
 * `statement_timeout` = SEARCH_STATEMENT_TIMEOUT_MS. A search is then one
 * round trip: no transaction and SET LOCAL around it. A cancelled statement
 * is SQLSTATE 57014, answered 503 with Retry-After. `max` is the most
 * searches the SearchGate lets run at once, so the pool never makes a search
 * wait; idle connections close after 10 s, so a process that does not search
 * holds none.
 */
export function openSearchPool(options: PostgresOptions, max: number): pg.Pool {
  const extra = (options.extra ?? {}) as pg.PoolConfig;
  const pool = new pg.Pool({
    ...connectionConfigOf(options),
    ...extra,
    max,
    idleTimeoutMillis: 10_000,
    // What pg_stat_activity shows for these sessions: an operator can tell searches from the rest.
    application_name: SEARCH_APPLICATION_NAME,
    // A later -c wins: the general statement_timeout in `extra` is replaced for these sessions.
    options: `${extra.options ?? ''} -c statement_timeout=${SEARCH_STATEMENT_TIMEOUT_MS}`.trim(),
  });
  // An idle connection the server closed (a restart) is dropped by the pool; without a listener it would crash the process.
  pool.on('error', () => undefined);
  return pool;
}

/** Where TypeORM's connections go (address, credentials, TLS), for a connection or pool of this code's own. */
export function connectionConfigOf(options: PostgresOptions): pg.ClientConfig {
  return {
    connectionString: options.url,
    host: options.host,
    port: options.port,
    user: options.username,
    password: typeof options.password === 'string' ? options.password : undefined,
    database: options.database,
    ssl: options.ssl as pg.ClientConfig['ssl'],
  };
}
