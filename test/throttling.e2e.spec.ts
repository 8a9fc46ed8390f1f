import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RefusalWriter } from '../src/audit/refusal-writer.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildUser, createPatient, createUser, PASSWORD, type TestUser } from './utils/factories.js';
import type { HttpResponse } from './utils/http.js';
import { expectProblem } from './utils/problem.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

function expectTooMany(res: HttpResponse, maxWait: number): void {
  expectProblem(res, 429);
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxWait);
}

/** A documentation-range address per test run, so counters left in a shared Redis never collide. */
const randomIp = () => `198.51.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;

const wrongLogin = (t: TestApp, username: string, headers?: Record<string, string>) =>
  t.http.post('/api/auth/login/', { username, password: 'Wrong-Password-123' }, { headers });

interface RefusalRow {
  actor_id: string | null;
  route: string | null;
  reason: string;
  status: number;
  count: number;
  user_agent: string | null;
}

/** The refusals recorded for a client address, once RefusalWriter has written what it holds. */
async function refusalsOf(t: TestApp, ip: string): Promise<RefusalRow[]> {
  await t.app.get(RefusalWriter).flush();
  return t.dataSource.query(
    `SELECT actor_id, route, reason, status, count, user_agent FROM audit_events
      WHERE client_ip = $1 AND action = 'access_denied' ORDER BY seq`,
    [ip],
  );
}

/** count summed per route, status and reason; and the most rows any of them took. */
function tally(rows: RefusalRow[]) {
  const sums: Record<string, number> = {};
  const rowsOf: Record<string, number> = {};
  for (const row of rows) {
    const key = `${row.route} ${row.status} ${row.reason}`;
    sums[key] = (sums[key] ?? 0) + row.count;
    rowsOf[key] = (rowsOf[key] ?? 0) + 1;
  }
  return { sums, mostRows: Math.max(0, ...Object.values(rowsOf)) };
}

describe('Throttling (e2e)', () => {
  describe('per client IP on the auth routes', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ AUTH_RATE_LIMIT: '5' });
    });
    afterAll(() => t?.close());

    it('register, login and refresh share one budget a minute; then 429 with Retry-After, and other routes still answer', async () => {
      const statuses: number[] = [];
      statuses.push((await t.http.post('/api/auth/register/', buildUser())).status);
      statuses.push((await wrongLogin(t, 'nobody')).status);
      statuses.push((await t.http.post('/api/auth/refresh/', { refresh: 'x.y.z' })).status);
      statuses.push((await wrongLogin(t, 'nobody')).status);
      statuses.push((await t.http.post('/api/auth/register/', { username: 'a' })).status);
      expect(statuses).toEqual([201, 401, 401, 401, 400]);

      const refused = [
        await t.http.post('/api/auth/login/', { username: 'nobody', password: PASSWORD }),
        await t.http.post('/api/auth/register/', buildUser()),
        await t.http.post('/api/auth/refresh/', { refresh: 'x.y.z' }),
      ];
      for (const res of refused) expectTooMany(res, 60);
      expect((await t.http.get('/health')).status).toBe(200);
    });

    it('X-Forwarded-For is not believed without TRUST_PROXY', async () => {
      expectTooMany(await wrongLogin(t, 'nobody', { 'x-forwarded-for': randomIp() }), 60);
    });
  });

  describe('behind a trusted proxy (TRUST_PROXY=1)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ AUTH_RATE_LIMIT: '2', TRUST_PROXY: '1' });
    });
    afterAll(() => t?.close());

    it('counts each client address from X-Forwarded-For separately', async () => {
      const [a, b] = [randomIp(), randomIp()];
      for (let i = 0; i < 2; i++) expect((await wrongLogin(t, 'nobody', { 'x-forwarded-for': a })).status).toBe(401);
      expectTooMany(await wrongLogin(t, 'nobody', { 'x-forwarded-for': a }), 60);
      expect((await wrongLogin(t, 'nobody', { 'x-forwarded-for': b })).status).toBe(401);
      // Only the last hop is trusted: a client cannot pick its address by prepending one.
      expectTooMany(await wrongLogin(t, 'nobody', { 'x-forwarded-for': `${randomIp()}, ${a}` }), 60);
    });
  });

  describe('failed logins per username', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ LOGIN_FAILURE_LIMIT: '3', LOGIN_FAILURE_WINDOW: '2' });
    });
    afterAll(() => t?.close());

    it('locks the username after the limit (right password included), whatever its case; the lock lifts by itself', async () => {
      const user = await createUser(t.http);
      for (let i = 0; i < 3; i++) expect((await wrongLogin(t, user.username)).status).toBe(401);

      expectTooMany(await t.http.post('/api/auth/login/', { username: user.username, password: PASSWORD }), 2);
      expectTooMany(await t.http.post('/api/auth/login/', { username: user.username.toUpperCase(), password: PASSWORD }), 2);
      // Another username is not affected.
      const other = await createUser(t.http);
      expect(other.access).toEqual(expect.any(String));

      await new Promise((r) => setTimeout(r, 2100));
      const back = await t.http.post('/api/auth/login/', { username: user.username, password: PASSWORD });
      expect(back.status).toBe(200);
    });

    it('an unknown username locks exactly like a known one (no account enumeration)', async () => {
      const ghost = `ghost_${randomUUID().slice(0, 8)}`;
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await wrongLogin(t, ghost)).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
    });

    it('successful logins do not count', async () => {
      const user = await createUser(t.http);
      for (let i = 0; i < 5; i++) {
        expect((await t.http.post('/api/auth/login/', { username: user.username, password: PASSWORD })).status).toBe(200);
      }
    });
  });

  describe('failed logins per username and hour', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ LOGIN_FAILURE_LIMIT: '100', LOGIN_FAILURE_HOURLY_LIMIT: '4' });
    });
    afterAll(() => t?.close());

    it('caps failures an hour however they are spread', async () => {
      const user = await createUser(t.http);
      for (let i = 0; i < 4; i++) expect((await wrongLogin(t, user.username)).status).toBe(401);
      const res = await t.http.post('/api/auth/login/', { username: user.username, password: PASSWORD });
      expectTooMany(res, 3600);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(3500);
    });
  });

  describe('per client IP without a valid token (ANON_RATE_LIMIT), before the token check', () => {
    let t: TestApp;
    let alice: TestUser;
    beforeAll(async () => {
      t = await createTestApp({ ANON_RATE_LIMIT: '5', TRUST_PROXY: '1' });
      alice = await createUser(t.http);
    });
    afterAll(() => t?.close());

    it('a flood gets 429 with Retry-After past the budget, whatever the token; one aggregated audit row per route and reason', async () => {
      const ip = randomIp();
      const from = { 'x-forwarded-for': ip };
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await t.http.get('/api/patients/', { headers: from })).status);
      statuses.push((await t.http.get('/api/patients/', { headers: from, token: 'not.a.token' })).status);
      statuses.push((await t.http.get(`/api/patients/${randomUUID()}/`, { headers: from })).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401]);

      // Past the budget: 429 instead of 401, with no token, a malformed one or an expired-looking one, on any route.
      // Sent at once: each refusal is held for ANON_REFUSAL_DELAY_MS (src/throttling/anonymous-rate-limiter.ts).
      const flood = 20;
      const answers = await Promise.all([
        ...Array.from({ length: flood }, (_, i) => t.http.get('/api/patients/', { headers: from, token: i % 2 ? 'not.a.token' : undefined })),
        t.http.get('/api/doctors/', { headers: from }),
      ]);
      for (const res of answers) {
        expectTooMany(res, 60);
        expect(res.headers.get('www-authenticate')).toBeNull();
      }

      // A valid token from the same address is not counted (users behind one NAT keep working), nor another address.
      expect((await t.http.get('/api/patients/', { headers: from, token: alice.access })).status).toBe(200);
      expect((await t.http.get('/api/patients/', { headers: { 'x-forwarded-for': randomIp() } })).status).toBe(401);
      // Public routes keep their own limits.
      expect((await t.http.get('/health', { headers: from })).status).toBe(200);

      const rows = await refusalsOf(t, ip);
      const { sums, mostRows } = tally(rows);
      expect(sums).toEqual({
        'GET /api/patients 401 no_token': 3,
        'GET /api/patients 401 invalid_token': 1,
        'GET /api/patients/:id 401 no_token': 1,
        'GET /api/patients 429 rate_limited': flood,
        'GET /api/doctors 429 rate_limited': 1,
      });
      // One row per client IP, route, reason and minute (two if a minute turned during the test), not one per request.
      expect(mostRows).toBeLessThanOrEqual(2);
      expect(rows.every((row) => row.actor_id === null)).toBe(true);
    });
  });

  describe('refusals in the audit trail', () => {
    let t: TestApp;
    let alice: TestUser;
    let bob: TestUser;
    beforeAll(async () => {
      t = await createTestApp({ TRUST_PROXY: '1' });
      alice = await createUser(t.http);
      bob = await createUser(t.http);
    });
    afterAll(() => t?.close());

    it("an authenticated caller's refusals stay one event each (a cross-user 404, a 403)", async () => {
      const ip = randomIp();
      const patient = await createPatient(t.http, alice.access);
      for (let i = 0; i < 3; i++) {
        expectProblem(await t.http.get(`/api/patients/${patient.id}/`, { token: bob.access, headers: { 'x-forwarded-for': ip } }), 404);
        expectProblem(await t.http.get('/api/admin/patients/', { token: bob.access, headers: { 'x-forwarded-for': ip } }), 403);
      }
      await t.app.get(RefusalWriter).flush();
      const rows: Array<{ actor_id: string; action: string; status: number; reason: string; count: number }> = await t.dataSource.query(
        `SELECT actor_id, action, status, reason, count FROM audit_events WHERE client_ip = $1 AND status >= 400 ORDER BY seq`,
        [ip],
      );
      expect(rows.filter((r) => r.status === 404)).toEqual(
        Array.from({ length: 3 }, () => ({ actor_id: bob.id, action: 'read', status: 404, reason: 'not_found', count: 1 })),
      );
      expect(rows.filter((r) => r.status === 403)).toEqual(
        Array.from({ length: 3 }, () => ({ actor_id: bob.id, action: 'access_denied', status: 403, reason: 'not_admin', count: 1 })),
      );
    });

    it('keeps at most 256 characters of a user agent, anonymous or not', async () => {
      const ip = randomIp();
      const headers = { 'x-forwarded-for': ip, 'user-agent': `flood/${'x'.repeat(2000)}` };
      expectProblem(await t.http.get('/api/patients/', { headers }), 401);
      expectProblem(await t.http.get('/api/admin/patients/', { headers, token: alice.access }), 403);
      expect((await t.http.get('/api/patients/', { headers, token: alice.access })).status).toBe(200);
      await t.app.get(RefusalWriter).flush();
      const rows: Array<{ n: number }> = await t.dataSource.query(
        `SELECT length(user_agent) AS n FROM audit_events WHERE client_ip = $1 ORDER BY seq`,
        [ip],
      );
      expect(rows.map((r) => r.n).sort()).toEqual([256, 256, 256]);
    });
  });

  describe('per user on the API', () => {
    let t: TestApp;
    let alice: TestUser;
    let bob: TestUser;
    beforeAll(async () => {
      t = await createTestApp({ USER_RATE_LIMIT: '5' });
      alice = await createUser(t.http);
      bob = await createUser(t.http);
    });
    afterAll(() => t?.close());

    it('allows the limit a minute across routes, then 429 for that user only', async () => {
      const statuses: number[] = [];
      statuses.push((await t.http.get('/api/patients/', { token: alice.access })).status);
      statuses.push((await t.http.get('/api/doctors/', { token: alice.access })).status);
      statuses.push((await t.http.get('/api/mappings/', { token: alice.access })).status);
      statuses.push((await t.http.get('/api/auth/me/', { token: alice.access })).status);
      statuses.push((await t.http.post('/api/patients/', { name: 'X' }, { token: alice.access })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 400]);

      const refused = await t.http.post('/api/patients/', { name: 'Y', age: 30, gender: 'female' }, { token: alice.access });
      expectTooMany(refused, 60);
      const [count] = await t.dataSource.query('SELECT count(*)::int AS n FROM patients WHERE owner_id = $1', [alice.id]);
      expect(count.n).toBe(0);
      expect((await t.http.get('/api/patients/', { token: bob.access })).status).toBe(200);
    });
  });

  describe('shared through Redis', () => {
    let a: TestApp;
    let b: TestApp;
    beforeAll(async () => {
      const env = {
        REDIS_URL,
        TRUST_PROXY: '1',
        AUTH_RATE_LIMIT: '4',
        ANON_RATE_LIMIT: '4',
        LOGIN_FAILURE_LIMIT: '3',
        LOGIN_FAILURE_WINDOW: '60',
      };
      a = await createTestApp(env);
      b = await createTestApp(env);
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it('two instances share the per-IP budget', async () => {
      const ip = { 'x-forwarded-for': randomIp() };
      const statuses = [
        (await wrongLogin(a, `u_${randomUUID()}`, ip)).status,
        (await wrongLogin(b, `u_${randomUUID()}`, ip)).status,
        (await wrongLogin(a, `u_${randomUUID()}`, ip)).status,
        (await wrongLogin(b, `u_${randomUUID()}`, ip)).status,
      ];
      expect(statuses).toEqual([401, 401, 401, 401]);
      expectTooMany(await wrongLogin(a, `u_${randomUUID()}`, ip), 60);
      expectTooMany(await wrongLogin(b, `u_${randomUUID()}`, ip), 60);
    });

    it('two instances share the per-IP budget of requests without a valid token', async () => {
      const ip = { 'x-forwarded-for': randomIp() };
      const statuses = [
        (await a.http.get('/api/patients/', { headers: ip })).status,
        (await b.http.get('/api/patients/', { headers: ip })).status,
        (await a.http.get('/api/patients/', { headers: ip, token: 'not.a.token' })).status,
        (await b.http.get('/api/doctors/', { headers: ip })).status,
      ];
      expect(statuses).toEqual([401, 401, 401, 401]);
      expectTooMany(await a.http.get('/api/patients/', { headers: ip }), 60);
      expectTooMany(await b.http.get('/api/patients/', { headers: ip }), 60);
    });

    it('two instances share the failed-login count of a username', async () => {
      const username = `shared_${randomUUID().slice(0, 8)}`;
      expect((await wrongLogin(a, username, { 'x-forwarded-for': randomIp() })).status).toBe(401);
      expect((await wrongLogin(b, username, { 'x-forwarded-for': randomIp() })).status).toBe(401);
      expect((await wrongLogin(a, username, { 'x-forwarded-for': randomIp() })).status).toBe(401);
      expectTooMany(await wrongLogin(b, username, { 'x-forwarded-for': randomIp() }), 60);
    });
  });

  describe('with Redis unreachable', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:1/0', AUTH_RATE_LIMIT: '2' });
    });
    afterAll(() => t?.close());

    it('lets requests through instead of failing them', async () => {
      const user = await createUser(t.http);
      for (let i = 0; i < 3; i++) expect((await wrongLogin(t, user.username)).status).toBe(401);
      expect((await t.http.get('/api/patients/', { token: user.access })).status).toBe(200);
    });
  });
});
