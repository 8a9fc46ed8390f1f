import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, TEST_JWT_SECRET, type TestApp } from './utils/app.js';
import { buildDoctor, buildUser, createUser, type TestUser } from './utils/factories.js';
import { expectProblem } from './utils/problem.js';

/** What `npm run test:fuzz` found, kept as plain regression tests. */

function sign(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${input}.${createHmac('sha256', TEST_JWT_SECRET).update(input).digest('base64url')}`;
}

describe('Hostile-input regressions (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;

  beforeAll(async () => {
    t = await createTestApp({ CORS_ORIGINS: 'https://clinic.example' });
    alice = await createUser(t.http);
  });
  afterAll(() => t?.close());

  it.each([
    ['a zero-width space after a taken address', (e: string) => `${e}\u200b`],
    ['a quoted local part', () => '"<script>"@clinic.example'],
    ['a unicode local part', () => 'ü@example.org'],
    ['a unicode domain', () => 'ada@bücher.example'],
  ])('an email with %s is refused (400), for users and doctors', async (_name, make) => {
    const email = make(alice.email);
    expectProblem(await t.http.post('/api/auth/register/', buildUser({ email })), 400, ['email']);
    expectProblem(await t.http.post('/api/doctors/', buildDoctor({ email }), { token: alice.access }), 400, ['email']);
  });

  it('a correctly signed token whose ids are not UUIDs is a 401, not a 400', async () => {
    const now = Math.floor(Date.now() / 1000);
    const odd = { sub: alice.id, sid: "x' OR '1'='1", jti: randomUUID(), iat: now, exp: now + 60 };
    expectProblem(await t.http.get('/api/auth/me/', { token: sign({ ...odd, typ: 'access' }) }), 401);
    expectProblem(await t.http.post('/api/auth/refresh/', { refresh: sign({ ...odd, typ: 'refresh' }) }), 401);
    expectProblem(await t.http.post('/api/auth/logout/', { refresh: sign({ ...odd, typ: 'refresh' }) }), 401);
    const badSub = { sub: 'admin', sid: randomUUID(), jti: randomUUID(), iat: now, exp: now + 60, typ: 'access' };
    expectProblem(await t.http.get('/api/patients/', { token: sign(badSub) }), 401);
  });

  it('an OPTIONS request that is not a real preflight gets a problem+json 400 with the usual headers', async () => {
    for (const headers of [{}, { origin: 'https://clinic.example' }, { origin: '' }] as Array<Record<string, string>>) {
      const res = await t.http.request('OPTIONS', '/api/patients/', { headers });
      expectProblem(res, 400);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-request-id')).toEqual(expect.any(String));
    }
  });

  it('a real preflight carries no-store, nosniff and a request id', async () => {
    const res = await t.http.request('OPTIONS', '/api/patients/', {
      headers: { origin: 'https://clinic.example', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://clinic.example');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-request-id')).toEqual(expect.any(String));
  });
});
