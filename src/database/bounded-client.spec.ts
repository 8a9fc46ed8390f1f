import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { databaseUnavailable } from '../common/db-errors.js';
import { boundedClient, QueryDeadlineError, withoutQueryDeadline } from './bounded-client.js';

/**
 * A PostgreSQL that accepts the connection (AuthenticationOk, ReadyForQuery)
 * and then never answers a query: what a client sees when the server is
 * frozen (SIGSTOP) or the network drops its packets.
 */
function silentPostgres(): Promise<{ server: Server; port: number; closed: () => number }> {
  let closed = 0;
  const server = createServer((socket: Socket) => {
    let greeted = false;
    socket.on('data', () => {
      if (greeted) return; // Queries: swallowed.
      greeted = true;
      const authOk = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]); // 'R' AuthenticationOk
      const ready = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]); // 'Z' ReadyForQuery, idle
      socket.write(Buffer.concat([authOk, ready]));
    });
    socket.on('close', () => closed++);
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, closed: () => closed })),
  );
}

describe(boundedClient.name, () => {
  const DEADLINE_MS = 150;
  const Client = boundedClient(DEADLINE_MS);
  let pg: Awaited<ReturnType<typeof silentPostgres>>;

  beforeAll(async () => {
    pg = await silentPostgres();
  });
  afterAll(() => new Promise<void>((done) => pg.server.close(() => done())));

  const connect = async () => {
    const client = new Client({ host: '127.0.0.1', port: pg.port, user: 'u', database: 'd' });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };

  it('fails an unanswered query after the deadline, as "database unavailable", and closes the connection', async () => {
    const client = await connect();
    const closedBefore = pg.closed();
    const started = Date.now();
    const error = await client.query('SELECT 1').then(
      () => null,
      (e: unknown) => e,
    );
    const waited = Date.now() - started;

    expect(error).toBeInstanceOf(QueryDeadlineError);
    expect(databaseUnavailable(error)).toBe(true);
    expect(waited).toBeGreaterThanOrEqual(DEADLINE_MS - 5);
    // The socket is gone (the server sees it close), so a frozen server's late answer cannot land on the next query.
    await new Promise((done) => setTimeout(done, 50));
    expect(pg.closed()).toBe(closedBefore + 1);

    // The next query on the same client (a ROLLBACK, say) fails at once instead of waiting again.
    const next = Date.now();
    await expect(client.query('ROLLBACK')).rejects.toThrow(/not queryable|Connection terminated/);
    expect(Date.now() - next).toBeLessThan(DEADLINE_MS);
  });

  it('leaves queries run withoutQueryDeadline alone (migrations, waiting for the migration lock)', async () => {
    const client = await connect();
    let settled = false;
    const pending = withoutQueryDeadline(() => client.query('SELECT pg_advisory_lock(1)')).finally(() => {
      settled = true;
    });
    pending.catch(() => undefined);
    await new Promise((done) => setTimeout(done, DEADLINE_MS * 3));
    expect(settled).toBe(false);
    await client.end();
    await expect(pending).rejects.toThrow(/Connection terminated/);
  });
});
