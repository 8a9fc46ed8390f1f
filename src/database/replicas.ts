import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import type { DatabaseConfig } from '../config/app-config.js';
import { boundedClient } from './bounded-client.js';
import { isDatabaseReady } from './database-startup.js';
import { formatLsn, parseLsn } from './lsn.js';
import { SEARCH_STATEMENT_TIMEOUT_MS } from './search-pool.js';

/** How often each instance looks at the primary's WAL position and at each replica's. */
export const PROBE_INTERVAL_MS = 250;
/** A replica read unanswered this long is run on the primary instead: the request stays within QUERY_DEADLINE_MS even when a replica freezes. */
export const REPLICA_QUERY_DEADLINE_MS = 1000;
/** A replica that does not accept a connection in this long (frozen, partitioned) counts as down. */
const REPLICA_CONNECT_TIMEOUT_MS = 500;
export const REPLICA_APPLICATION_NAME = 'healthcare-api replica read';
/** The primary positions remembered, to tell how far behind a replica is (a minute at PROBE_INTERVAL_MS). */
const SAMPLES = 240;

export type ReplicaStatus = 'starting' | 'up' | 'lagging' | 'down' | 'not_standby';

/** One replica as /health/ready shows it (never its URL, which may hold a password): lag in ms at its last check, and replayed position. */
export interface ReplicaReport {
  name: string;
  status: ReplicaStatus;
  lag_ms: number | null;
  replayed: string | null;
}

/** A replica's connections and what its last check found. */
export class Replica {
  status: ReplicaStatus = 'starting';
  replayed: bigint | undefined;
  lagMs: number | null = null;
  private probing = false;

  constructor(
    readonly name: string,
    readonly pool: pg.Pool,
  ) {}

  report(): ReplicaReport {
    return { name: this.name, status: this.status, lag_ms: this.lagMs, replayed: this.replayed === undefined ? null : formatLsn(this.replayed) };
  }

  /** Asks the replica how far it has replayed; undefined when it is not a standby. Throws when it does not answer. */
  async probe(): Promise<{ standby: boolean; replayed: bigint | undefined } | 'busy'> {
    if (this.probing) return 'busy';
    this.probing = true;
    try {
      const { rows } = await this.pool.query<{ standby: boolean; replayed: string | null }>(
        'SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replayed',
      );
      const replayed = rows[0]?.replayed ? parseLsn(rows[0].replayed) : undefined;
      return { standby: rows[0]?.standby === true, replayed };
    } finally {
      this.probing = false;
    }
  }
}

/**
 * PostgreSQL streaming replicas (DATABASE_REPLICA_URLS) and which of them may
 * serve a read that is allowed to be slightly stale. PreparedSql.read asks
 * `pick()` and falls back to the primary; nothing else sends queries here.
 *
 * Every PROBE_INTERVAL_MS each instance reads the primary's WAL position
 * (`pg_current_wal_lsn()`, kept for a minute) and each replica's replayed
 * position (`pg_last_wal_replay_lsn()`). A replica's lag is the time since
 * the primary was last at a position the replica has not replayed: 0 when it
 * has replayed everything the primary had at the last sample (so an idle
 * primary does not make its replicas look late). A replica is used when it
 * answers, is a standby (`pg_is_in_recovery()`: a promoted replica is a
 * different database and is never read), is no more than REPLICA_MAX_LAG_MS
 * behind, and, when the request carries a consistency token, has replayed
 * at least that far. A replica that fails a read or a check is down until a
 * check succeeds again; the checks go on in the background.
 */
export class ReplicaSet implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReplicaSet.name);
  readonly replicas: Replica[];
  private readonly maxLagMs: number;
  /** The primary's positions, oldest first, with when they were read. */
  private readonly samples: Array<{ at: number; position: bigint }> = [];
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  private stopped = false;

  /** Built by DatabaseModule (a server gets the configured replicas; a tool none). */
  constructor(
    database: Pick<DatabaseConfig, 'replicaUrls' | 'poolSize' | 'replicaMaxLagMs'>,
    private readonly dataSource: DataSource,
  ) {
    const { replicaUrls, poolSize, replicaMaxLagMs } = database;
    this.maxLagMs = replicaMaxLagMs;
    this.replicas = replicaUrls.map((url) => new Replica(nameOf(url), openReplicaPool(url, poolSize)));
  }

  get enabled(): boolean {
    return this.replicas.length > 0;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    void this.check();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all(this.replicas.map((replica) => replica.pool.end().catch(() => undefined)));
  }

  /**
   * A replica that can serve a read now, in turn, or undefined (the primary
   * serves it). `atLeast`: the client's consistency token, the position its
   * own last write had reached.
   */
  pick(atLeast: bigint | undefined): Replica | undefined {
    const count = this.replicas.length;
    for (let i = 0; i < count; i++) {
      const replica = this.replicas[(this.next + i) % count];
      if (replica.status !== 'up') continue;
      if (atLeast !== undefined && (replica.replayed === undefined || replica.replayed < atLeast)) continue;
      this.next = (this.next + i + 1) % count;
      return replica;
    }
    return undefined;
  }

  /** A read on `replica` failed: unless the server itself refused the statement, it is down until a check finds it back. */
  failed(replica: Replica, error: unknown): void {
    if (error instanceof pg.DatabaseError) return;
    this.mark(replica, 'down', (error as Error).message);
  }

  /** The primary's WAL position now: what a write's answer gives the client as its consistency token. */
  async primaryPosition(): Promise<string> {
    const [row] = (await this.dataSource.query('SELECT pg_current_wal_lsn()::text AS position')) as Array<{ position: string }>;
    return row.position;
  }

  reports(): ReplicaReport[] {
    return this.replicas.map((replica) => replica.report());
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check(), PROBE_INTERVAL_MS);
    // Never what keeps a process alive.
    this.timer.unref();
  }

  private async check(): Promise<void> {
    try {
      await this.samplePrimary();
      await Promise.all(this.replicas.map((replica) => this.checkReplica(replica)));
    } finally {
      this.schedule();
    }
  }

  private async samplePrimary(): Promise<void> {
    if (!isDatabaseReady(this.dataSource)) return;
    try {
      const position = parseLsn(await this.primaryPosition());
      if (position === undefined) return;
      this.samples.push({ at: Date.now(), position });
      if (this.samples.length > SAMPLES) this.samples.shift();
    } catch {
      // The primary is down: its own errors reach the requests; replicas keep their last known lag.
    }
  }

  private async checkReplica(replica: Replica): Promise<void> {
    let answer: Awaited<ReturnType<Replica['probe']>>;
    try {
      answer = await replica.probe();
    } catch (error) {
      this.mark(replica, 'down', (error as Error).message);
      return;
    }
    if (answer === 'busy') return;
    if (!answer.standby || answer.replayed === undefined) {
      replica.replayed = undefined;
      replica.lagMs = null;
      this.mark(replica, 'not_standby', 'it is not in recovery: not a streaming replica of the primary (promoted?)');
      return;
    }
    replica.replayed = answer.replayed;
    replica.lagMs = this.lagOf(answer.replayed);
    this.mark(replica, replica.lagMs !== null && replica.lagMs <= this.maxLagMs ? 'up' : 'lagging');
  }

  /** Milliseconds since the primary was last at a position `replayed` had not reached; null when no sample tells. */
  private lagOf(replayed: bigint): number | null {
    const samples = this.samples;
    if (samples.length === 0) return null;
    if (samples[samples.length - 1].position <= replayed) return 0;
    for (let i = samples.length - 1; i >= 0; i--) {
      if (samples[i].position <= replayed) return Date.now() - samples[i].at;
    }
    // Behind every position remembered: at least as old as the oldest.
    return Date.now() - samples[0].at;
  }

  private mark(replica: Replica, status: ReplicaStatus, why?: string): void {
    const was = replica.status;
    replica.status = status;
    if (was === status) return;
    if (status === 'up') this.logger.log({ replica: replica.name }, 'replica serves reads');
    else if (status === 'lagging' && was === 'up') this.logger.log({ replica: replica.name, lag_ms: replica.lagMs }, 'replica behind; reads go to the primary');
    // Only the driver's message (connection refused, timeout): never a query's values.
    else if (status === 'down' || status === 'not_standby') this.logger.warn({ replica: replica.name, err: { message: why } }, 'replica not used; reads go to the primary');
  }
}

/** host:port/database of a replica URL: what logs and /health/ready show. */
function nameOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'replica';
  }
}

/**
 * A replica's connections: the client-side deadline REPLICA_QUERY_DEADLINE_MS,
 * sessions under the searches' statement timeout (only short reads are sent
 * here), and read-only sessions (a replica refuses writes anyway; this makes
 * the refusal certain even if the URL points at a primary).
 */
function openReplicaPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    Client: boundedClient(REPLICA_QUERY_DEADLINE_MS),
    connectionTimeoutMillis: REPLICA_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 10_000,
    application_name: REPLICA_APPLICATION_NAME,
    options: `-c statement_timeout=${SEARCH_STATEMENT_TIMEOUT_MS} -c default_transaction_read_only=on`,
  });
  // An idle connection the server closed (a restart) is dropped by the pool; without a listener it would crash the process.
  pool.on('error', () => undefined);
  return pool;
}
