import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { expectProblem } from './utils/problem.js';

/** A local port nothing listens on: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/**
 * A server whose PostgreSQL is down when it starts does not exit: it listens,
 * keeps its liveness, answers 503 (problem+json, Retry-After) on everything
 * that needs the database, and connects in the background. That it becomes
 * ready once PostgreSQL comes up is proved against a real cluster by
 * test/faults/start-down.faults.ts (npm run test:faults).
 */
describe('Starting while PostgreSQL is unreachable (e2e)', () => {
  let t: TestApp;
  let startedInMs: number;

  beforeAll(async () => {
    const started = Date.now();
    t = await createTestApp({ DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/healthcare` });
    startedInMs = Date.now() - started;
  });
  afterAll(() => t?.close());

  it('starts and listens instead of failing (no retry loop in front of the listener)', () => {
    expect(t.dataSource.isInitialized).toBe(false);
    expect(startedInMs).toBeLessThan(10_000);
  });

  it('liveness answers 200; readiness answers 503 problem+json', async () => {
    expect((await t.http.get('/health')).status).toBe(200);
    const ready = await t.http.get('/health/ready');
    expectProblem(ready, 503);
    expect(ready.body.detail).toBe('The database is not reachable.');
  });

  it.each([
    ['GET', '/api/patients/'],
    ['GET', '/api/doctors/?search=card'],
    ['POST', '/api/auth/login/'],
    ['POST', '/api/auth/register/'],
    ['GET', '/api/admin/audit-events/'],
  ] as const)('%s %s answers 503 with Retry-After, naming no internals', async (method, path) => {
    const res =
      method === 'GET'
        ? await t.http.get(path, { token: 'not-checked-before-the-database-is-up' })
        : await t.http.post(path, { username: 'someone', password: 'a-password-long-enough' });
    expectProblem(res, 503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.body.detail).toBe('The database is not reachable yet; try again shortly.');
    expect(res.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres:|typeorm|pool/i);
  });

  it('the API description is still served', async () => {
    const res = await t.http.get('/docs-json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
  });
});
