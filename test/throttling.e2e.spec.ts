import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildUser, createUser, PASSWORD, type TestUser } from './utils/factories.js';
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
      const env = { REDIS_URL, TRUST_PROXY: '1', AUTH_RATE_LIMIT: '4', LOGIN_FAILURE_LIMIT: '3', LOGIN_FAILURE_WINDOW: '60' };
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
