import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { type DataSource, QueryFailedError } from 'typeorm';
import { databaseUnavailable } from '../common/db-errors.js';
import { PreparedSql } from './prepared-sql.js';

/** A PostgreSQL that accepts the connection, then drops it at the first query: a restart mid-request. */
function droppingPostgres(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket: Socket) => {
    let greeted = false;
    socket.on('data', () => {
      if (greeted) {
        socket.destroy();
        return;
      }
      greeted = true;
      socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0, 0x5a, 0, 0, 0, 5, 0x49])); // AuthenticationOk, ReadyForQuery
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

describe(PreparedSql.name, () => {
  let pgServer: Awaited<ReturnType<typeof droppingPostgres>>;
  let pool: pg.Pool;

  beforeAll(async () => {
    pgServer = await droppingPostgres();
    pool = new pg.Pool({ host: '127.0.0.1', port: pgServer.port, user: 'u', database: 'd', max: 1 });
  });
  afterAll(async () => {
    await pool.end();
    await new Promise<void>((done) => pgServer.server.close(() => done()));
  });

  it('a connection dropped mid-query is a "database unavailable" QueryFailedError, not a crash, and is not reused', async () => {
    // The pool as TypeORM's driver holds it; no custom driver means PostgreSQL.
    const sql = new PreparedSql({ options: {}, driver: { master: pool } } as unknown as DataSource);
    const failures = [];
    for (let i = 0; i < 2; i++) failures.push(await sql.query('SELECT 1', []).catch((e: unknown) => e));
    for (const error of failures) {
      expect(error).toBeInstanceOf(QueryFailedError);
      expect(databaseUnavailable(error)).toBe(true);
    }
    // Each attempt got a fresh connection: the broken one was destroyed on release.
    expect(pool.totalCount).toBe(0);
  });
});
