import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DrainService } from '../src/health/drain.service.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { createUser, type TestUser } from './utils/factories.js';
import { expectProblem } from './utils/problem.js';

describe('Health (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await createUser(t.http);
  });
  afterAll(() => t?.close());

  it.each(['/health', '/health/'])('GET %s (liveness) is 200 without a token', async (path) => {
    const res = await t.http.get(path);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok' });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it.each(['/health/ready', '/health/ready/'])('GET %s (readiness) is 200 while the database answers', async (path) => {
    const res = await t.http.get(path);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
  });

  it('a token is accepted but not needed', async () => {
    expect((await t.http.get('/health/ready', { token: alice.access })).status).toBe(200);
    expect((await t.http.get('/health/ready', { token: 'not-a-jwt' })).status).toBe(200);
  });

  it('while draining for a shutdown, readiness answers 503 and the API still serves', async () => {
    const drain = t.app.get(DrainService);
    drain.start();
    try {
      const res = await t.http.get('/health/ready');
      expectProblem(res, 503);
      expect(res.body.detail).toBe('Shutting down: send new requests elsewhere.');
      expect((await t.http.get('/health')).status).toBe(200);
      expect((await t.http.get('/api/patients/', { token: alice.access })).status).toBe(200);
    } finally {
      (drain as unknown as { drainingSince: number | null }).drainingSince = null;
    }
  });

  // Last in the file: the database stays down until the app is closed.
  describe('when the database is down', () => {
    beforeAll(async () => {
      await t.dataSource.destroy();
    });

    it('readiness answers 503 problem+json, without the driver’s message', async () => {
      const res = await t.http.get('/health/ready');
      expectProblem(res, 503);
      expect(res.text).not.toMatch(/pool|connect|terminat|destroy|pglite|ECONN/i);
    });

    it('liveness still answers 200: the process is alive', async () => {
      expect((await t.http.get('/health')).status).toBe(200);
    });

    it('any other route answers 503 with Retry-After, with no internals, before any guard touches the database', async () => {
      const res = await t.http.get('/api/auth/me/', { token: alice.access });
      expectProblem(res, 503);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(res.body.detail).toBe('The database is not reachable yet; try again shortly.');
      expect(Object.keys(res.body).sort()).toEqual(['detail', 'instance', 'request_id', 'status', 'title', 'type']);
    });
  });
});
