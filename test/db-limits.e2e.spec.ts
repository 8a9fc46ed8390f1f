import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { QueryRunner } from 'typeorm';
import { HEADERS_TIMEOUT_MS } from '../src/app.setup.js';
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
