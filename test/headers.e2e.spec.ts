import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildPatient, buildUser, createPatient, createUser, type TestUser } from './utils/factories.js';
import { type HttpResponse, rawRequest } from './utils/http.js';
import { expectProblem } from './utils/problem.js';

const API_CSP = "default-src 'none'; frame-ancestors 'none'";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A request through node:http, which (unlike fetch) lets a test choose the Host header. */

function expectApiHeaders(res: HttpResponse): void {
  expect({
    cacheControl: res.headers.get('cache-control'),
    nosniff: res.headers.get('x-content-type-options'),
    csp: res.headers.get('content-security-policy'),
    poweredBy: res.headers.get('x-powered-by'),
    requestId: res.headers.get('x-request-id'),
  }).toEqual({
    cacheControl: 'no-store',
    nosniff: 'nosniff',
    csp: API_CSP,
    poweredBy: null,
    requestId: expect.any(String),
  });
}

describe('Security headers, request ids, Host and CORS (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await createUser(t.http);
  });
  afterAll(() => t?.close());

  describe('every API response', () => {
    it.each([
      ['200 GET /api/auth/me/', 200, () => t.http.get('/api/auth/me/', { token: alice.access })],
      ['200 GET /health', 200, () => t.http.get('/health')],
      ['200 GET /docs-json', 200, () => t.http.get('/docs-json')],
      ['201 POST /api/patients/', 201, () => t.http.post('/api/patients/', buildPatient(), { token: alice.access })],
      [
        '204 DELETE /api/patients/{id}/',
        204,
        async () => t.http.delete(`/api/patients/${(await createPatient(t.http, alice.access)).id}/`, { token: alice.access }),
      ],
      ['400 validation', 400, () => t.http.post('/api/patients/', { name: '' }, { token: alice.access })],
      ['401 no token', 401, () => t.http.get('/api/patients/')],
      ['404 unknown route', 404, () => t.http.get('/nope')],
      [
        '413 too large',
        413,
        () => t.http.post('/api/auth/login/', undefined, { raw: 'x'.repeat(102_401), headers: { 'content-type': 'application/json' } }),
      ],
      ['415 text/plain', 415, () => t.http.post('/api/auth/login/', undefined, { raw: '{}', headers: { 'content-type': 'text/plain' } })],
      ['400 bad URL encoding', 400, () => t.http.get('/api/patients/%E0%A4%A/')],
      ['414 over-long path segment', 414, () => t.http.get(`/api/patients/${'a'.repeat(500)}/`)],
      ['400 Host not allowed', 400, () => rawRequest(t.baseUrl, 'GET', '/health', { host: 'evil.example' })],
    ])('%s: no-store, nosniff, the API CSP, a request id, no X-Powered-By', async (_name, status, send) => {
      const res = await send();
      expect(res.status).toBe(status);
      expectApiHeaders(res);
    });
  });

  describe('Swagger UI', () => {
    it('GET /docs is HTML with a CSP that allows its own scripts and no more', async () => {
      const res = await t.http.get('/docs');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.text).toMatch(/<div id="swagger-ui">/);
      const csp = res.headers.get('content-security-policy') ?? '';
      const directives = Object.fromEntries(
        csp.split(';').map((d) => {
          const [name, ...values] = d.trim().split(/\s+/);
          return [name, values];
        }),
      );
      expect(directives['default-src']).toEqual(["'none'"]);
      expect(directives['script-src']).toEqual(["'self'"]);
      expect(directives['frame-ancestors']).toEqual(["'none'"]);
      expect(csp).not.toMatch(/unsafe-eval|\*/);
      // Every script the page loads is a file of its own, which script-src 'self' allows.
      const scripts = res.text.match(/<script[^>]*>/g) ?? [];
      expect(scripts.length).toBeGreaterThan(0);
      for (const tag of scripts) expect(tag).toMatch(/ src="/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-powered-by')).toBeNull();
    });

    it('serves the Swagger UI assets the page refers to', async () => {
      const page = await t.http.get('/docs');
      const sources = [...page.text.matchAll(/<script src="\.\/docs\/([^"]+)"/g)].map((m) => m[1]);
      expect(sources).toContain('swagger-ui-init.js');
      for (const file of sources) {
        const res = await t.http.get(`/docs/${file}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/javascript/);
      }
    });

    it('GET /docs-json is the OpenAPI 3 document, with bearer auth', async () => {
      const res = await t.http.get('/docs-json');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body.openapi).toMatch(/^3\./);
      expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining([expect.stringMatching(/^\/api\/patients\/?$/)]));
      expect(Object.values(res.body.components.securitySchemes)).toContainEqual(
        expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      );
      expect(res.headers.get('content-security-policy')).toBe(API_CSP);
    });
  });

  describe('X-Request-Id', () => {
    it.each(['abc-123', 'req_1.2:3', '0f8fad5b-d9cb-469f-a165-70867728950e', 'x'.repeat(128)])(
      'echoes a sane incoming id %s, in the header and in a problem body',
      async (id) => {
        const ok = await t.http.get('/health', { headers: { 'x-request-id': id } });
        expect(ok.headers.get('x-request-id')).toBe(id);
        const problem = await t.http.get('/api/patients/', { headers: { 'x-request-id': id } });
        expectProblem(problem, 401);
        expect(problem.headers.get('x-request-id')).toBe(id);
        expect(problem.body.request_id).toBe(id);
      },
    );

    it.each([
      ['with spaces', 'a b'],
      ['200 characters long', 'x'.repeat(200)],
      ['with markup', '<script>alert(1)</script>'],
      ['with a JSON quote', 'a"b'],
      ['with a comma (two ids)', 'a,b'],
      ['empty', ''],
    ])('replaces an id %s with a generated one', async (_kind, id) => {
      const res = await t.http.get('/api/patients/', { headers: { 'x-request-id': id } });
      const echoed = res.headers.get('x-request-id');
      expect(echoed).toMatch(UUID);
      expect(res.body.request_id).toBe(echoed);
    });

    it('generates a fresh id per request when none is given', async () => {
      const a = await t.http.get('/health');
      const b = await t.http.get('/health');
      expect(a.headers.get('x-request-id')).toMatch(UUID);
      expect(b.headers.get('x-request-id')).toMatch(UUID);
      expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
    });

    it('is echoed on an answer sent before routing (bad Host)', async () => {
      const res = await rawRequest(t.baseUrl, 'GET', '/health', { host: 'evil.example', 'x-request-id': 'trace-42' });
      expect(res.headers.get('x-request-id')).toBe('trace-42');
      expect(res.body.request_id).toBe('trace-42');
    });
  });

  describe('ALLOWED_HOSTS (default localhost, 127.0.0.1, [::1])', () => {
    it.each([
      'evil.example',
      'evil.example:3000',
      'localhost.evil.example',
      'evil-localhost',
      '127.0.0.1.nip.io',
      '127.0.0.2',
      '[::2]',
      '[::1]@evil.example',
      '[::1]x',
      'localhost@evil.example',
      'localhost:3000@evil.example',
      'localhost:abc',
      'localhost:',
      'localhost:80:80',
      'local host',
    ])('400 problem for Host %j', async (host) => {
      const res = await rawRequest(t.baseUrl, 'GET', '/health', { host });
      expectProblem(res, 400);
      expect(res.body.detail).toMatch(/Host/);
    });

    it.each(['localhost', 'localhost:3000', 'LOCALHOST:8000', 'localhost.', '127.0.0.1', '127.0.0.1:8080', '[::1]', '[::1]:3000'])(
      'answers Host %j',
      async (host) => {
        const res = await rawRequest(t.baseUrl, 'GET', '/health', { host });
        expect(res.status).toBe(200);
      },
    );

    it('a request with a bad Host never reaches the route', async () => {
      const input = buildUser();
      const body = JSON.stringify(input);
      const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
      const refused = await rawRequest(t.baseUrl, 'POST', '/api/auth/register/', { ...headers, host: 'evil.example' }, body);
      expectProblem(refused, 400);
      // Not created: the same username is still free.
      expect((await t.http.post('/api/auth/register/', input)).status).toBe(201);
    });

    it('page links are built on the allowed Host the client used', async () => {
      const bob = await createUser(t.http);
      await createPatient(t.http, bob.access);
      await createPatient(t.http, bob.access);
      const res = await rawRequest(t.baseUrl, 'GET', '/api/patients/?page_size=1', {
        host: 'localhost:8123',
        authorization: `Bearer ${bob.access}`,
      });
      expect(res.status).toBe(200);
      expect(res.body.next).toMatch(/^http:\/\/localhost:8123\/api\/patients\/?\?/);
    });
  });

  describe('CORS (none by default)', () => {
    it('no Access-Control-Allow-Origin for a cross-origin request', async () => {
      const res = await t.http.get('/api/auth/me/', { token: alice.access, headers: { origin: 'https://clinic.example' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('a preflight is not answered with CORS headers', async () => {
      const res = await t.http.request('OPTIONS', '/api/patients/', {
        headers: { origin: 'https://clinic.example', 'access-control-request-method': 'POST' },
      });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-methods')).toBeNull();
    });
  });
});
