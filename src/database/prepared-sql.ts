import { createHash } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import pg from 'pg';
import { DataSource, type DataSourceOptions, type EntityManager, QueryFailedError } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { requiredPosition } from './read-consistency.js';
import { ReplicaSet } from './replicas.js';
import { openSearchPool } from './search-pool.js';

interface PgResult {
  rows: Record<string, unknown>[];
  rowCount: number | null;
}
/** The node-postgres client a PostgreSQL query runner holds once connected. */
interface PgClient {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<PgResult>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

/** SQLSTATE query_canceled: statement_timeout (or a cancel request) stopped the statement. */
const STATEMENT_CANCELLED = '57014';

/** Distinct statements given a name; past this (a bug building ever-new SQL), statements run unnamed. */
const MAX_NAMED = 1000;

/**
 * The hot paths' SQL as named prepared statements. TypeORM sends every query
 * unnamed, so PostgreSQL parses and plans it on every call: 20-100 µs of
 * database CPU per statement, more than executing a primary-key lookup
 * (bench/README.md). A named statement is parsed once per connection and,
 * after a few executions, runs on a cached generic plan, which also keeps
 * the plan from flipping with the owner's id.
 *
 * Same connection rules as TypeORM: inside a transaction, the manager's own
 * connection; otherwise one from TypeORM's pool through a query runner of
 * its own (TypeORM's public API, no driver internals), so DB_POOL_SIZE, the
 * connect timeout and the query deadline all hold. Errors are TypeORM's
 * QueryFailedError, as from any other query (the exception filter maps
 * them). On PGlite (one in-process session, nothing to plan over a wire)
 * the statement simply runs through TypeORM.
 */
@Injectable()
export class PreparedSql implements OnApplicationShutdown {
  private readonly names = new Map<string, string>();
  private readonly postgres: boolean;

  private searchPool: pg.Pool | undefined;
  private readonly searchConnections: number;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional() @Inject(AppConfig) config?: AppConfig,
    @Optional() @Inject(ReplicaSet) private readonly replicas?: ReplicaSet,
  ) {
    this.postgres = (dataSource.options as { driver?: unknown }).driver === undefined;
    this.searchConnections = config?.search.concurrencyTotal ?? 5;
  }

  async onApplicationShutdown(): Promise<void> {
    const pool = this.searchPool;
    this.searchPool = undefined;
    await pool?.end();
  }

  /**
   * Runs one search statement under SEARCH_STATEMENT_TIMEOUT_MS: on
   * PostgreSQL, on the searches' own connections (search-pool.ts), in one
   * round trip; on PGlite, which has no statement timeout, as query() does.
   */
  async search<T = Record<string, unknown>>(text: string, values: unknown[]): Promise<T[]> {
    if (!this.postgres) return this.query<T>(text, values);
    try {
      if (!this.dataSource.isInitialized) throw Object.assign(new Error('The database connection is closed.'), { code: '08003' });
      this.searchPool ??= openSearchPool(this.dataSource.options as Extract<DataSourceOptions, { type: 'postgres' }>, this.searchConnections);
      return await this.runOn<T>(this.searchPool, text, values);
    } catch (error) {
      throw error instanceof QueryFailedError ? error : new QueryFailedError(text, values, error as Error);
    }
  }

  /**
   * A read that may be slightly stale (a list page, a search, a history page):
   * on a replica when one may serve this request (ReplicaSet.pick, with the
   * request's consistency token), else on the primary as search() or query().
   * A replica's failure is never the client's: the read runs again on the
   * primary, except a search the replica cancelled for its cost, which would
   * be as slow there (its 503 stands). Only reads outside any transaction
   * come here, so nothing a write depends on is read from a replica.
   */
  async read<T = Record<string, unknown>>(text: string, values: unknown[], searching: boolean): Promise<T[]> {
    const replica = this.replicas?.pick(requiredPosition());
    if (replica) {
      try {
        return await this.runOn<T>(replica.pool, text, values);
      } catch (error) {
        if (searching && (error as { code?: unknown }).code === STATEMENT_CANCELLED) throw new QueryFailedError(text, values, error as Error);
        this.replicas?.failed(replica, error);
      }
    }
    return searching ? this.search<T>(text, values) : this.query<T>(text, values);
  }

  /** One named statement on a connection of `pool` (a pool of this class's own, not TypeORM's). */
  private async runOn<T>(pool: pg.Pool, text: string, values: unknown[]): Promise<T[]> {
    const client = await pool.connect();
    const onError = () => undefined;
    client.on('error', onError);
    let failure: Error | undefined;
    try {
      return (await client.query({ name: this.nameOf(text), text, values })).rows as T[];
    } catch (error) {
      // An error the server sent (a cancelled statement) leaves the connection usable; any other closes it.
      if (!(error instanceof pg.DatabaseError)) failure = error as Error;
      throw error;
    } finally {
      client.removeListener('error', onError);
      client.release(failure);
    }
  }

  /** Runs one statement; `text` must be a constant (its name is derived from it). */
  async query<T = Record<string, unknown>>(text: string, values: unknown[], manager?: EntityManager): Promise<T[]> {
    return (await this.run(text, values, manager)).rows as T[];
  }

  private async run(text: string, values: unknown[], manager: EntityManager | undefined): Promise<PgResult> {
    if (!this.postgres) {
      const rows = (await (manager ?? this.dataSource.manager).query(text, values)) as Record<string, unknown>[];
      return { rows, rowCount: rows.length };
    }
    const config = { name: this.nameOf(text), text, values };
    try {
      if (manager?.queryRunner) {
        const client = (await manager.queryRunner.connect()) as PgClient;
        return await client.query(config);
      }
      // Closed (the app is stopping) or not connected yet: "connection does not exist", a 503.
      if (!this.dataSource.isInitialized) throw Object.assign(new Error('The database connection is closed.'), { code: '08003' });
      const runner = this.dataSource.createQueryRunner('master');
      try {
        const client = (await runner.connect()) as PgClient;
        // pg-pool removes its own listener from a checked-out client: without one, the server closing the
        // connection mid-query (a restart) would be an unhandled 'error' event, and the process would exit.
        // TypeORM's query runner listens too (and destroys the connection on release); this one does not
        // depend on it.
        const onError = () => undefined;
        client.on('error', onError);
        try {
          return await client.query(config);
        } finally {
          client.removeListener('error', onError);
        }
      } finally {
        // A broken connection is not handed to the next request: pg-pool drops a client that is no longer
        // queryable, and TypeORM's runner releases with the error it saw.
        await runner.release();
      }
    } catch (error) {
      throw error instanceof QueryFailedError ? error : new QueryFailedError(text, values, error as Error);
    }
  }

  /** Derived from the text, so every holder of a connection (another instance of this class) agrees on it. */
  private nameOf(text: string): string | undefined {
    let name = this.names.get(text);
    if (name === undefined && this.names.size < MAX_NAMED) {
      name = `hc_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
      this.names.set(text, name);
    }
    return name;
  }
}
