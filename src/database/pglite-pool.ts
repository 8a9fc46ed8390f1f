import { PGliteDriver } from 'typeorm-pglite';

/**
 * typeorm-pglite hands TypeORM a pool whose "connections" all share PGlite's
 * single session, so two concurrent transactions would interleave (one's
 * ROLLBACK undoing the other's writes). This pool lends its one connection to
 * one query runner at a time, like pg's Pool with max: 1, so transactions are
 * isolated as on a real server.
 */
/** How long a query runner may wait for the session, as connectionTimeoutMillis on PostgreSQL. */
const ACQUIRE_TIMEOUT_MS = 2000;

export function serializedPGliteDriver(options: ConstructorParameters<typeof PGliteDriver>[0]) {
  const Base = new PGliteDriver(options).driver.Pool as unknown as new () => PoolLike;

  class SerializedPool extends Base {
    /**
     * PGlite reports `affectedRows` and no `command`; TypeORM reads pg's
     * `rowCount` and `command` (UpdateResult.affected, [rows, count] for
     * UPDATE/DELETE). Normalise so both databases answer alike.
     */
    override async query(sql: string, params?: unknown, callback?: QueryCallback): Promise<unknown> {
      const cb = typeof params === 'function' ? (params as QueryCallback) : callback;
      const values = typeof params === 'function' ? undefined : params;
      try {
        const result = (await super.query(sql, values)) as PGliteResult;
        if (result && typeof result === 'object') {
          result.rowCount ??= result.affectedRows ?? result.rows?.length ?? 0;
          result.command ??= /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase();
        }
        cb?.(null, result);
        return result;
      } catch (error) {
        if (!cb) throw error;
        cb(error, null);
        return undefined;
      }
    }

    private queue: Array<() => void> = [];
    private busy = false;

    override connect(callback: ConnectCallback): void {
      const grant = () => {
        this.busy = true;
        let released = false;
        super.connect((err, client) => {
          const release = () => {
            if (released) return;
            released = true;
            const next = this.queue.shift();
            if (next) next();
            else this.busy = false;
          };
          if (err) {
            release();
            callback(err, null, () => undefined);
            return;
          }
          callback(null, client, release);
        });
      };
      if (!this.busy) {
        grant();
        return;
      }
      // As pg's connectionTimeoutMillis: a request never waits for the session forever (the API answers 503).
      const waiting = () => {
        clearTimeout(timer);
        grant();
      };
      const timer = setTimeout(() => {
        this.queue = this.queue.filter((entry) => entry !== waiting);
        callback(new Error('timeout exceeded when trying to connect'), null, () => undefined);
      }, ACQUIRE_TIMEOUT_MS);
      this.queue.push(waiting);
    }
  }

  return { Pool: SerializedPool };
}

type ConnectCallback = (err: unknown, client: unknown, release: (err?: unknown) => void) => void;
type QueryCallback = (err: unknown, result: unknown) => void;
interface PGliteResult {
  rows?: unknown[];
  affectedRows?: number;
  rowCount?: number;
  command?: string;
}
interface PoolLike {
  connect(callback: ConnectCallback): void;
  query(sql: string, params?: unknown, callback?: QueryCallback): Promise<unknown>;
}
