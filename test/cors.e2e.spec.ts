import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { createUser, type TestUser } from './utils/factories.js';
import { expectProblem } from './utils/problem.js';

const CLINIC = 'https://clinic.example';
const ADMIN = 'https://admin.clinic.example';

// A file of its own: ConfigModule reads CORS_ORIGINS once per file.
describe('CORS with CORS_ORIGINS set (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;

  beforeAll(async () => {
    t = await createTestApp({ CORS_ORIGINS: `${CLINIC}, ${ADMIN}` });
    alice = await createUser(t.http);
  });
  afterAll(async () => {
    await t?.close();
    delete process.env.CORS_ORIGINS;
  });

  it.each([CLINIC, ADMIN])('an allowed origin (%s) gets Access-Control-Allow-Origin', async (origin) => {
    const res = await t.http.get('/api/auth/me/', { token: alice.access, headers: { origin } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    expect(res.headers.get('vary')).toMatch(/Origin/i);
    expect(res.headers.get('access-control-expose-headers')).toMatch(/X-Request-Id/i);
    // Credentials travel in the Authorization header, never in cookies.
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('an error answer to an allowed origin is readable by it too', async () => {
    const res = await t.http.get('/api/patients/', { headers: { origin: CLINIC } });
    expectProblem(res, 401);
    expect(res.headers.get('access-control-allow-origin')).toBe(CLINIC);
  });

  it('a preflight from an allowed origin is answered', async () => {
    const res = await t.http.request('OPTIONS', '/api/patients/', {
      headers: {
        origin: CLINIC,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(CLINIC);
    expect(res.headers.get('access-control-allow-methods')?.split(/,\s*/)).toEqual(
      expect.arrayContaining(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    );
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase().split(/,\s*/)).toEqual(
      expect.arrayContaining(['authorization', 'content-type']),
    );
    expect(res.headers.get('access-control-max-age')).toBe('600');
  });

  it('a cross-origin client may send the conditional, retry and consistency headers and read the ones it acts on', async () => {
    const preflight = await t.http.request('OPTIONS', '/api/patients/', {
      headers: {
        origin: CLINIC,
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'if-match, if-none-match, idempotency-key, x-consistency-token',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase().split(/,\s*/)).toEqual(
      expect.arrayContaining(['if-match', 'if-none-match', 'idempotency-key', 'x-consistency-token']),
    );
    const created = await t.http.post(
      '/api/patients/',
      { name: 'Cors Patient', age: 40, gender: 'female', address: 'Main St 1' },
      { token: alice.access, headers: { origin: CLINIC } },
    );
    expect(created.status).toBe(201);
    expect(created.headers.get('access-control-expose-headers')?.toLowerCase().split(/,\s*/)).toEqual(
      expect.arrayContaining(['etag', 'location', 'retry-after', 'idempotent-replayed', 'x-consistency-token']),
    );
  });

  it.each(['https://evil.example', 'http://clinic.example', 'https://clinic.example.evil.example', 'https://clinic.example:8443', 'null'])(
    'another origin (%s) gets no CORS headers',
    async (origin) => {
      const get = await t.http.get('/api/auth/me/', { token: alice.access, headers: { origin } });
      expect(get.headers.get('access-control-allow-origin')).toBeNull();
      const preflight = await t.http.request('OPTIONS', '/api/patients/', {
        headers: { origin, 'access-control-request-method': 'POST' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    },
  );
});
