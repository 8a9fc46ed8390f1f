import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource, QueryFailedError } from 'typeorm';
import { databaseUnavailable } from '../common/db-errors.js';
import { PreparedSql } from './prepared-sql.js';

function message(type: string, body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length + 4);
  return Buffer.concat([Buffer.from(type), length, body]);
}
const cstring = (s: string) => Buffer.from(`${s}\0`);
const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const READY = message('Z', Buffer.from('I'));

/** One text column `name` holding `value`: what TypeORM's start-up queries (version, database, schema) read. */
function oneRow(name: string, value: string): Buffer {
  const field = Buffer.concat([cstring(name), int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0)]);
  const cell = Buffer.from(value);
  return Buffer.concat([
    message('T', Buffer.concat([int16(1), field])),
    message('D', Buffer.concat([int16(1), int32(cell.length), cell])),
    message('C', cstring('SELECT 1')),
    READY,
  ]);
}

/**
 * A PostgreSQL that answers TypeORM's simple start-up queries, then drops the
 * connection at the first prepared statement (a Parse message): a restart
 * mid-request. Counts the Parse messages it saw.
 */
function droppingPostgres(): Promise<{ server: Server; port: number; parses: () => number }> {
  let parses = 0;
  const server = createServer((socket: Socket) => {
    let greeted = false;
    socket.on('data', (data: Buffer) => {
      if (!greeted) {
        greeted = true;
        socket.write(Buffer.concat([message('R', int32(0)), READY])); // AuthenticationOk, ReadyForQuery
        return;
      }
      const type = String.fromCharCode(data[0]);
      if (type === 'Q') {
        const text = data.subarray(5).toString('utf8');
        const column = /version/.test(text) ? 'version' : /current_database/.test(text) ? 'current_database' : 'current_schema';
        socket.write(oneRow(column, column === 'version' ? 'PostgreSQL 16.4 on x86_64' : column === 'current_database' ? 'd' : 'public'));
      } else if (type === 'P') {
        parses++;
        socket.destroy();
      } else if (type === 'X') {
        socket.end();
      }
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as { port: number }).port, parses: () => parses }),
    ),
  );
}

describe(PreparedSql.name, () => {
  let pgServer: Awaited<ReturnType<typeof droppingPostgres>>;
  let dataSource: DataSource;

  beforeAll(async () => {
    pgServer = await droppingPostgres();
    dataSource = new DataSource({
      type: 'postgres',
      host: '127.0.0.1',
      port: pgServer.port,
      username: 'u',
      database: 'd',
      poolSize: 1,
      installExtensions: false,
      logging: false,
    });
    await dataSource.initialize();
  });
  afterAll(async () => {
    await dataSource.destroy();
    await new Promise<void>((done) => pgServer.server.close(() => done()));
  });

  it('a connection dropped mid-query is a "database unavailable" QueryFailedError, not a crash, and is not reused', async () => {
    const sql = new PreparedSql(dataSource);
    const failures = [];
    for (let i = 0; i < 2; i++) failures.push(await sql.query('SELECT 1', []).catch((e: unknown) => e));
    for (const error of failures) {
      expect(error).toBeInstanceOf(QueryFailedError);
      expect(databaseUnavailable(error)).toBe(true);
    }
    // Each attempt reached the server on a live connection: the broken one was not handed out again
    // (a dead client fails before sending anything).
    expect(pgServer.parses()).toBe(2);
  });

  it('a closed data source is "database unavailable", without touching the driver', async () => {
    const closed = new PreparedSql(new DataSource({ type: 'postgres', host: '127.0.0.1', port: pgServer.port }));
    const error = await closed.query('SELECT 1', []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryFailedError);
    expect(databaseUnavailable(error)).toBe(true);
  });
});
