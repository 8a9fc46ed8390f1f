import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { QueryRunner } from 'typeorm';
import { HEADERS_TIMEOUT_MS } from '../src/app.setup.js';
import { PreparedSql } from '../src/database/prepared-sql.js';
import { SEARCH_APPLICATION_NAME } from '../src/database/search-pool.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { createPatient, createUser, type TestUser } from './utils/factories.js';
import { expectProblem } from './utils/problem.js';

/**
 * A request that cannot get a database connection in time answers 503 with
 * Retry-After instead of hanging: on PostgreSQL the pool (DB_POOL_SIZE=1,
 * connect timeout 2 s), on PGlite its one serialized session (same timeout).
 */
describe('Database limits (e2e)', () => {
  let t: TestApp;
  let user: TestUser;
  let patientId: string;

  beforeAll(async () => {
    t = await createTestApp({ DB_POOL_SIZE: '1' });
    user = await createUser(t.http);
    patientId = (await createPatient(t.http, user.access)).id;
  });
  afterAll(() => t?.close());

  it('answers 503 problem+json with Retry-After within about 2 s while every connection is taken, then recovers', async () => {
    const holder: QueryRunner = t.dataSource.createQueryRunner();
    await holder.connect();
    await holder.query('SELECT 1');
    let elapsed: number;
    try {
      const started = Date.now();
      const res = await t.http.get(`/api/patients/${patientId}/`, { token: user.access });
      elapsed = Date.now() - started;
      expectProblem(res, 503);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(res.body.detail).toBe('The database is unavailable or overloaded; try again shortly.');
      expect(res.text).not.toContain(patientId.slice(0, 8) + 'x');
      // Readiness says the same while liveness stays up.
      expect((await t.http.get('/health')).status).toBe(200);
    } finally {
      await holder.release();
    }
    expect(elapsed).toBeLessThan(4000);
    const back = await t.http.get(`/api/patients/${patientId}/`, { token: user.access });
    expect(back.status).toBe(200);
    expect(back.body.id).toBe(patientId);
  });

  it('a write that times out waiting changes nothing', async () => {
    const holder = t.dataSource.createQueryRunner();
    await holder.connect();
    await holder.query('SELECT 1');
    try {
      const res = await t.http.post('/api/patients/', { name: 'Waiting Patient', age: 30, gender: 'male' }, { token: user.access });
      expectProblem(res, 503);
    } finally {
      await holder.release();
    }
    const [row] = await t.dataSource.query(`SELECT count(*)::int AS n FROM patients WHERE name = 'Waiting Patient'`);
    expect(row.n).toBe(0);
  });

  it('cuts off a client that trickles its headers', () => {
    const server = t.app.getHttpServer() as { headersTimeout: number; requestTimeout: number };
    expect(server.headersTimeout).toBe(HEADERS_TIMEOUT_MS);
    expect(server.requestTimeout).toBe(30_000);
  });
});

describe('Searches on connections of their own (e2e)', () => {
  it('a search runs on a session of the searches’ pool, named in pg_stat_activity, whose statement timeout is the search’s 1 s while the main pool keeps 5 s', async () => {
    const t = await createTestApp({ SEARCH_CONCURRENCY_TOTAL: '1' });
    try {
      const user = await createUser(t.http);
      await createPatient(t.http, user.access, { name: 'Pooled Search' });
      const res = await t.http.get('/api/patients/?search=pooled', { token: user.access });
      expect(res.status).toBe(200);
      expect(res.body.results.map((p: { name: string }) => p.name)).toEqual(['Pooled Search']);
      // PGlite has one session for everything; the rest is about PostgreSQL's sessions.
      if (t.db.kind !== 'postgres') return;
      const sessions = (await t.dataSource.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`,
        [SEARCH_APPLICATION_NAME],
      )) as Array<{ n: number }>;
      expect(sessions).toEqual([{ n: 1 }]);
      expect(await t.dataSource.query('SHOW statement_timeout')).toEqual([{ statement_timeout: '5s' }]);
      expect(await t.app.get(PreparedSql).search('SHOW statement_timeout', [])).toEqual([{ statement_timeout: '1s' }]);
    } finally {
      await t.close();
    }
  });
});
