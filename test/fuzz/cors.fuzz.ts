import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createTestApp, type TestApp } from '../utils/app.js';
import { createUser, type TestUser } from '../utils/factories.js';
import { loadApi, type Api } from './openapi.js';
import { API_CSP, send, type Answer } from './world.js';

/**
 * Issue 5, the header sweep's CORS part: with CORS_ORIGINS set, only the
 * listed origin is answered, on preflights and on simple requests alike,
 * and every answer still carries the security headers. A file of its own:
 * the app reads CORS_ORIGINS once, at start.
 */
const ALLOWED = 'https://clinic.example';
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const RUNS = Math.max(100, Math.min(1000, Math.round(Number(process.env.FUZZ_REQUESTS ?? 10_000) / 10)));

/** Near misses of the allowed origin, and origins of every shape. */
const origins = fc.oneof(
  { weight: 3, arbitrary: fc.constant(ALLOWED) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'http://clinic.example',
      'https://clinic.example:443',
      'https://clinic.example:8443',
      'https://clinic.example.',
      'https://CLINIC.EXAMPLE',
      'https://clinic.example/',
      'https://clinic.example.evil.example',
      'https://evilclinic.example',
      'https://sub.clinic.example',
      'https://clinic.exampl',
      'null',
      '*',
      `${ALLOWED}, https://evil.example`,
      `https://evil.example, ${ALLOWED}`,
      `${ALLOWED}%00`,
      'file://',
      'chrome-extension://abcdefghijklmnop',
      '',
    ),
  },
  { weight: 2, arbitrary: fc.webUrl().map((u) => new URL(u).origin) },
  { weight: 1, arbitrary: fc.domain().map((d) => `https://${d}`) },
);

describe('Hostile input: CORS with CORS_ORIGINS set (fuzz)', () => {
  let t: TestApp;
  let api: Api;
  let user: TestUser;
  const seen = new Map<string, number>();
  /** Answers without the security headers, by kind: asserted on their own, after the CORS rules. */
  const headerGaps = new Map<string, { count: number; example: string }>();

  beforeAll(async () => {
    t = await createTestApp({ THROTTLE_ENABLED: 'false', CORS_ORIGINS: ALLOWED });
    api = loadApi();
    user = await createUser(t.http);
  }, 120_000);

  afterAll(async () => {
    process.stdout.write(`\n=== CORS figures (seed ${SEED}): ${[...seen.entries()].map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
    await t?.close();
    delete process.env.CORS_ORIGINS;
  });

  const tally = (key: string) => seen.set(key, (seen.get(key) ?? 0) + 1);

  /** The headers every answer carries, preflights included. */
  function securityHeaders(a: Answer) {
    return {
      nosniff: a.headers['x-content-type-options'],
      cache: a.headers['cache-control'],
      csp: a.headers['content-security-policy'],
      poweredBy: a.headers['x-powered-by'],
      credentials: a.headers['access-control-allow-credentials'],
    };
  }
  const SECURE = { nosniff: 'nosniff', cache: 'no-store', csp: API_CSP, poweredBy: undefined, credentials: undefined };

  it(`answers only ${ALLOWED}, on preflights and simple requests, for any origin`, async () => {
    const paths = [...new Set(api.operations.map((o) => o.path.replace('{id}', '3f1c6f2d-9a10-4c39-9a57-0b8f5c1e6f0e')))];
    await fc.assert(
      fc.asyncProperty(
        origins,
        fc.constantFrom('preflight', 'get', 'unauthorized', 'invalid-post'),
        fc.constantFrom(...paths),
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'TRACE', 'CONNECT'),
        fc.subarray(['authorization', 'content-type', 'x-request-id', 'x-evil', 'cookie']),
        async (origin, kind, path, method, requested) => {
          const headers: Record<string, string> = { origin };
          let a: Answer;
          if (kind === 'preflight') {
            headers['access-control-request-method'] = method;
            if (requested.length > 0) headers['access-control-request-headers'] = requested.join(', ');
            a = await send(t.baseUrl, { method: 'OPTIONS', url: `${path}/`, headers });
          } else if (kind === 'get') {
            a = await send(t.baseUrl, { method: 'GET', url: '/api/auth/me/', headers: { ...headers, authorization: `Bearer ${user.access}` } });
            expect(a.status).toBe(200);
          } else if (kind === 'unauthorized') {
            a = await send(t.baseUrl, { method: 'GET', url: '/api/patients/', headers });
            expect(a.status).toBe(401);
          } else {
            const body = Buffer.from('{"name":""}');
            a = await send(t.baseUrl, {
              method: 'POST',
              url: '/api/patients/',
              headers: { ...headers, authorization: `Bearer ${user.access}`, 'content-type': 'application/json' },
              body,
            });
            expect(a.status).toBe(400);
          }
          // Node trims a header value: " https://clinic.example " is the allowed origin.
          const allowed = origin.trim() === ALLOWED;
          tally(`${kind} ${allowed ? 'allowed' : 'other'} ${a.status}`);
          expect(a.status).toBeLessThan(500);
          expect(a.headers['access-control-allow-origin']).toBe(allowed ? ALLOWED : undefined);
          expect(a.headers.vary ?? '').toMatch(/origin/i);
          const gaps = Object.entries(securityHeaders(a))
            .filter(([k, v]) => v !== SECURE[k as keyof typeof SECURE])
            .map(([k, v]) => `${k}=${v ?? '(none)'}`);
          if (kind !== 'preflight' && a.headers['x-request-id'] === undefined) gaps.push('x-request-id=(none)');
          if (gaps.length > 0) {
            const key = `${kind} (${allowed ? 'allowed' : 'other'} origin) -> ${a.status}: ${gaps.join(', ')}`;
            const gap = headerGaps.get(key) ?? { count: 0, example: `OPTIONS/GET ${path}/ ${JSON.stringify(headers)} -> ${JSON.stringify(a.headers)}` };
            gap.count++;
            headerGaps.set(key, gap);
          }
          if (kind === 'preflight' && allowed) {
            expect(a.status).toBe(204);
            expect(a.headers['access-control-allow-methods']?.split(/,\s*/)).toEqual(expect.arrayContaining(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']));
            expect(a.headers['access-control-allow-methods']).not.toMatch(/TRACE|CONNECT/);
            expect(a.headers['access-control-allow-headers']?.toLowerCase().split(/,\s*/)).toEqual(
              expect.arrayContaining(['authorization', 'content-type']),
            );
            expect(a.headers['access-control-allow-headers']?.toLowerCase()).not.toMatch(/x-evil|cookie/);
          }
          if (kind !== 'preflight') {
            if (allowed) expect(a.headers['access-control-expose-headers']).toMatch(/x-request-id/i);
            if (a.status >= 400) expect(a.headers['content-type']).toMatch(/^application\/problem\+json/);
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  }, 300_000);

  it('every one of those answers carried no-store, nosniff, the API CSP and no X-Powered-By', () => {
    const found = [...headerGaps.entries()].map(([key, gap]) => `${key} (x${gap.count}), e.g. ${gap.example}`);
    expect(found).toEqual([]);
  });

  it.each<[string, Record<string, string>]>([
    ['an OPTIONS without Origin', {}],
    ['an OPTIONS with an Origin but no Access-Control-Request-Method', { origin: ALLOWED }],
  ])('%s is a problem+json 4xx or a 2xx, with the security headers', async (_label, headers) => {
    const a = await send(t.baseUrl, { method: 'OPTIONS', url: '/api/patients/', headers });
    tally(`bare OPTIONS ${a.status}`);
    expect(a.status).toBeLessThan(500);
    if (a.status >= 400) {
      expect({ type: a.headers['content-type'], problem: api.problem(a.json) }).toEqual({
        type: expect.stringMatching(/^application\/problem\+json/),
        problem: true,
      });
    }
    expect(securityHeaders(a)).toEqual(SECURE);
  });
});
