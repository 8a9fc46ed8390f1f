import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';

/** Work run inside withoutQueryDeadline (migrations, long maintenance) is not cut off. */
const unbounded = new AsyncLocalStorage<true>();

/** Runs `work` with no client-side deadline on its queries (server-side statement_timeout still applies unless lifted). */
export function withoutQueryDeadline<T>(work: () => Promise<T>): Promise<T> {
  return unbounded.run(true, work);
}

/** A query that got no answer in time. ETIMEDOUT: the API turns it into 503 + Retry-After. */
export class QueryDeadlineError extends Error {
  readonly code = 'ETIMEDOUT';

  constructor(deadlineMs: number) {
    super(`No answer from PostgreSQL within ${deadlineMs} ms; the connection was closed.`);
    this.name = 'QueryDeadlineError';
  }
}

/**
 * A pg Client whose queries have a client-side deadline. statement_timeout
 * bounds work the server is doing; it cannot help when the server does not
 * answer at all (a frozen or partitioned host): the query would wait for TCP
 * to give up, minutes later. Here the query fails after `deadlineMs` and the
 * connection is closed (pg's own query_timeout leaves the connection waiting
 * for the late answer, so the next query on it, a ROLLBACK say, would wait
 * again). Closing the socket also makes PostgreSQL roll back an open
 * transaction when it wakes. The pool then drops the client (`_ending`).
 */
export function boundedClient(deadlineMs: number): typeof pg.Client {
  return class BoundedClient extends pg.Client {
    override query(...args: unknown[]): never {
      const result = (super.query as (...a: unknown[]) => unknown).apply(this, args);
      // Callback and stream forms (TypeORM uses neither on the request path) are left as they are.
      if (!isPromise(result) || unbounded.getStore()) return result as never;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new QueryDeadlineError(deadlineMs));
          // With a query in flight, end() destroys the socket at once.
          this.end().catch(() => undefined);
        }, deadlineMs);
        result.then(
          (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          (error: unknown) => {
            clearTimeout(timer);
            reject(error);
          },
        );
      }) as never;
    }
  };
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
