import { createHmac, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SearchGate } from '../src/common/search-gate.js';
import { createTestApp, TEST_JWT_SECRET, type TestApp } from './utils/app.js';
import { buildDoctor, buildPatient, buildUser, createAdmin, createPatient, createUser, type TestUser } from './utils/factories.js';
import { expectProblem } from './utils/problem.js';

/** Writes `request` on a raw socket and resolves with everything the server sends until it closes. */
function rawExchange(baseUrl: string, request: string): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(request));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    // A keep-alive answer does not close the socket: stop once a whole JSON body is in.
    socket.on('data', () => {
      const [head, body = ''] = text.split('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? -1);
      if (length >= 0 && Buffer.byteLength(body) >= length) {
        socket.destroy();
        resolve(text);
      }
    });
  });
}

/** The status and JSON body of a raw HTTP/1.1 answer. */
function parseRaw(text: string): { status: number; headers: string; body: any } {
  const [head, body = ''] = text.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: body ? JSON.parse(body) : undefined };
}

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

  describe('a request target in absolute form (issue 11, item 12)', () => {
    const host = () => new URL(t.baseUrl).host;

    it('naming another host is refused like a bad Host, whatever the Host header says', async () => {
      for (const target of ['http://evil.example/api/patients/', 'https://evil.example/api/patients/', `http://${host()}@evil.example/api/patients/`]) {
        const answer = parseRaw(
          await rawExchange(t.baseUrl, `GET ${target} HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${alice.access}\r\n\r\n`),
        );
        expect({ target, status: answer.status }).toEqual({ target, status: 400 });
        expect(answer.headers).toContain('content-type: application/problem+json');
        expect(answer.headers).toContain('cache-control: no-store');
        expect(answer.body).toMatchObject({ status: 400, title: 'Bad Request' });
        expect(JSON.stringify(answer.body)).not.toContain('evil.example');
      }
    });

    it('naming our own host is served, and its links use only the validated Host', async () => {
      await createPatient(t.http, alice.access);
      await createPatient(t.http, alice.access);
      const answer = parseRaw(
        await rawExchange(
          t.baseUrl,
          `GET http://${host()}/api/patients/?page_size=1 HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${alice.access}\r\n\r\n`,
        ),
      );
      expect(answer.status).toBe(200);
      expect(new URL(answer.body.next).host).toBe(host());
    });
  });

  it('a client that sends part of its headers is cut off within the headers timeout plus a second (issue 11, item 11)', async () => {
    const server = t.app.getHttpServer() as Server;
    const configured = server.headersTimeout;
    // A smaller bound than the production 10 s keeps the test short; the check interval is the production one.
    server.headersTimeout = 1500;
    try {
      const started = Date.now();
      const text = await rawExchange(t.baseUrl, `GET /api/patients/ HTTP/1.1\r\nHost: ${new URL(t.baseUrl).host}\r\nX-Slow: `);
      const elapsed = Date.now() - started;
      expect(parseRaw(text)).toMatchObject({ status: 408, body: { status: 408, title: 'Request Timeout' } });
      expect(elapsed).toBeLessThan(1500 + 1000);
    } finally {
      server.headersTimeout = configured;
    }
  });

  describe('bodies full of unknown keys (issue 11, item 2)', () => {
    it('more keys than any route takes: a 400 that names the limit, with a small body, on every body route', async () => {
      const body = `{${Array.from({ length: 10_000 }, (_, i) => `"k${i}":1`).join(',')}}`;
      for (const path of ['/api/patients/', '/api/doctors/', '/api/auth/register/', '/api/mappings/']) {
        const res = await t.http.post(path, undefined, { raw: body, token: alice.access, headers: { 'content-type': 'application/json' } });
        expectProblem(res, 400);
        expect(res.body.detail).toMatch(/more than 64 keys/);
        expect(res.text.length).toBeLessThan(1000);
      }
    });

    it('within the bound, a validation error lists at most 10 unknown fields and says how many more', async () => {
      const extra = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`unknown_${i}_${'x'.repeat(1500)}`, i]));
      const res = await t.http.post('/api/patients/', { ...buildPatient(), ...extra }, { token: alice.access });
      expectProblem(res, 400);
      expect(Object.keys(res.body.errors)).toHaveLength(10);
      expect(res.body.detail).toMatch(/ and 50 more\.$/);
      expect(res.text.length).toBeLessThan(4000);
    });

    it('a query with more parameters than any route takes is a 400 that names the limit', async () => {
      const query = Array.from({ length: 1000 }, (_, i) => `p${i}=${i}`).join('&');
      const res = await t.http.get(`/api/patients/?${query}`, { token: alice.access });
      expectProblem(res, 400);
      expect(res.body.detail).toMatch(/more than 64 parameters/);
      expect(res.text.length).toBeLessThan(1000);
    });
  });

  describe('date-time parameters take RFC 3339 only (issue 11, item 10)', () => {
    let admin: TestUser;
    beforeAll(async () => {
      admin = await createAdmin(t);
    });

    it.each(['2026-W49-4', '2026-W49-4T07:00:00Z', '2026-337', '20261203T070000Z', '2026-12-03', '2026-12', '2026', '2026-12-03T07:00Z', '2026-12-03T07:00:00,5Z', '2026-12-03T24:00:00Z', '2026-02-30T00:00:00Z', '0000-01-01T00:00:00Z'])(
      '%s answers 400 on since and until',
      async (value) => {
        for (const name of ['since', 'until']) {
          const res = await t.http.get(`/api/admin/audit-events/?${name}=${encodeURIComponent(value)}`, { token: admin.access });
          expectProblem(res, 400, [name]);
        }
      },
    );

    it.each(['2026-12-03T07:00:00Z', '2026-12-03T07:00:00.123+05:30', '2026-12-03t07:00:00z', '2000-01-01T00:00:00-08:00'])('%s is accepted', async (value) => {
      const res = await t.http.get(`/api/admin/audit-events/?since=${encodeURIComponent(value)}&until=${encodeURIComponent('2100-01-01T00:00:00Z')}`, {
        token: admin.access,
      });
      expect(res.status).toBe(200);
    });
  });
  describe('costly searches (issue 11, item 9)', () => {
    let admin: TestUser;
    beforeAll(async () => {
      admin = await createAdmin(t);
    });
    const lists = ['/api/patients/', '/api/doctors/'];

    it.each([
      ['3 letters and 197 %', `ace${'%'.repeat(197)}`],
      ['3 letters and 11 _', `ace${'_'.repeat(11)}`],
      ['letters between 100 %', 'a%'.repeat(100)],
      ['3 letters and 20 combining marks', `ace${'\u0301'.repeat(20)}`],
    ])('a term of %s is 400 naming search, on every list that searches', async (_name, search) => {
      const query = new URLSearchParams({ search });
      for (const path of lists) expectProblem(await t.http.get(`${path}?${query}`, { token: alice.access }), 400, ['search']);
      expectProblem(await t.http.get(`/api/admin/users/?${query}`, { token: admin.access }), 400, ['search']);
    });

    it('ordinary names still search', async () => {
      const names = ["O'Brien", 'Jean-Luc', 'Anne Marie', 'María José de la Cruz-García', 'Nguyễn', 'श्रीमती अनुराधा', '王小明'];
      for (const name of names) {
        const created = await t.http.post('/api/patients/', buildPatient({ name: `${name} ${randomUUID().slice(0, 8)}` }), { token: alice.access });
        expect(created.status).toBe(201);
        const res = await t.http.get<{ results: Array<{ id: string }> }>(`/api/patients/?${new URLSearchParams({ search: name })}`, { token: alice.access });
        expect({ name, status: res.status }).toEqual({ name, status: 200 });
        expect(res.body.results.map((p) => p.id)).toContain((created.body as { id: string }).id);
        const doctors = await t.http.get(`/api/doctors/?${new URLSearchParams({ search: name })}`, { token: alice.access });
        expect({ name, status: doctors.status }).toEqual({ name, status: 200 });
      }
    });

    it('past SEARCH_CONCURRENCY_TOTAL searches running across users, a search waits SEARCH_QUEUE_WAIT_MS, then is 429 with Retry-After, and a plain read is served', async () => {
      const gate = t.app.get(SearchGate);
      const total = t.config.search.concurrencyTotal;
      expect(total).toBe(Math.floor(t.config.database.poolSize / 2));
      // Other users' searches, held open as a slow statement would hold them.
      let release!: () => void;
      const open = new Promise<void>((resolve) => (release = resolve));
      const others = Array.from({ length: total }, () => gate.run(randomUUID(), () => open));
      try {
        const refused = await t.http.get('/api/doctors/?search=card', { token: alice.access });
        expectProblem(refused, 429);
        expect(refused.headers.get('retry-after')).toBe('1');
        expectProblem(await t.http.get('/api/patients/?search=ann', { token: alice.access }), 429);
        expect((await t.http.get('/api/patients/', { token: alice.access })).status).toBe(200);
        expect((await t.http.get('/api/doctors/', { token: alice.access })).status).toBe(200);
      } finally {
        release();
        await Promise.all(others);
      }
      expect((await t.http.get('/api/doctors/?search=card', { token: alice.access })).status).toBe(200);
    });
  });
});
