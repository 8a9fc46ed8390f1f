import pg from 'pg';
import type { DataSource } from 'typeorm';
import { connectionConfigOf, type PostgresOptions } from './search-pool.js';

/** How often a holder checks its connection, and a waiter tries to take the lease. */
export const LEASE_RETRY_MS = 1000;
/**
 * The server ends the lease's session after this long without a statement
 * (idle_session_timeout, PostgreSQL 14+): a frozen holder (SIGSTOP, a hung
 * host) stops pinging and loses the lease this long after its last ping. A
 * holder that dies loses it at once (its socket closes).
 */
export const LEASE_IDLE_TIMEOUT_MS = 5000;

/**
 * "Exactly one instance at a time" for background work (the audit sealer): a
 * session-level `pg_try_advisory_lock(key)` held on a connection of its own,
 * outside TypeORM's pool. Instances that do not hold it try again every
 * LEASE_RETRY_MS; the holder pings its session as often, and when the ping
 * or the connection fails (a restart of the database) it stops holding and
 * tries again. On PGlite (one process) the lease is always held.
 */
export class AdvisoryLease {
  private client: pg.Client | undefined;
  private holding = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly embedded: boolean;

  constructor(
    private readonly dataSource: DataSource,
    private readonly key: number,
    private readonly applicationName: string,
    private readonly onChange: (held: boolean) => void = () => undefined,
  ) {
    this.embedded = (dataSource.options as { driver?: unknown }).driver !== undefined;
  }

  get held(): boolean {
    return this.embedded || this.holding;
  }

  /** Tries once now (so a single instance holds it before its first round of work), then keeps trying. */
  async start(): Promise<void> {
    if (this.embedded) {
      this.onChange(true);
      return;
    }
    await this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    if (this.holding) this.set(false);
    // Ending the session releases the lock; the unlock first makes that independent of how the socket closes.
    if (client) await client.query('SELECT pg_advisory_unlock($1)', [this.key]).catch(() => undefined);
    await client?.end().catch(() => undefined);
  }

  private async tick(): Promise<void> {
    try {
      if (this.holding) await this.ping();
      else await this.tryTake();
    } catch {
      this.drop();
    } finally {
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.tick(), LEASE_RETRY_MS);
        // Never what keeps a process alive.
        this.timer.unref();
      }
    }
  }

  private async tryTake(): Promise<void> {
    const client = await this.connected();
    const { rows } = await client.query<{ taken: boolean }>('SELECT pg_try_advisory_lock($1) AS taken', [this.key]);
    if (rows[0]?.taken && !this.stopped) this.set(true);
  }

  private async ping(): Promise<void> {
    await (await this.connected()).query('SELECT 1');
  }

  private async connected(): Promise<pg.Client> {
    if (this.client) return this.client;
    if (!this.dataSource.isInitialized) throw new Error('the database is not connected yet');
    const client = new pg.Client({
      ...connectionConfigOf(this.dataSource.options as PostgresOptions),
      application_name: this.applicationName,
      connectionTimeoutMillis: 2000,
      // A server that stops answering: the ping fails after this, and the lease is given up.
      query_timeout: 2000,
      options: `-c idle_session_timeout=${LEASE_IDLE_TIMEOUT_MS} -c statement_timeout=2000`,
    });
    // A session the server ended (restart, idle timeout): the lease is lost; without a listener the process would crash.
    client.on('error', () => this.drop());
    client.on('end', () => {
      if (this.client === client) this.drop();
    });
    this.client = client;
    await client.connect();
    return client;
  }

  private drop(): void {
    const client = this.client;
    this.client = undefined;
    if (this.holding) this.set(false);
    client?.end().catch(() => undefined);
  }

  private set(held: boolean): void {
    this.holding = held;
    this.onChange(held);
  }
}
