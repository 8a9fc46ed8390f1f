import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { createTestApp, TEST_JWT_SECRET, type TestApp } from './utils/app.js';
import { createUser, PASSWORD, type TestUser } from './utils/factories.js';
import type { HttpResponse } from './utils/http.js';
import { expectProblem } from './utils/problem.js';

type Claims = Record<string, unknown>;

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function claimsOf(token: string): Claims {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Claims;
}

/** A JWT signed by hand, so the tests control every byte of it. */
function sign(claims: Claims, { alg = 'HS256', key = TEST_JWT_SECRET }: { alg?: string; key?: string } = {}): string {
  const input = `${b64url({ alg, typ: 'JWT' })}.${b64url(claims)}`;
  const hmac = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg];
  const signature = hmac ? createHmac(hmac, key).update(input).digest('base64url') : '';
  return `${input}.${signature}`;
}

/** Fresh claims for the user's session, as the server would issue them. */
function claimsLike(token: string, overrides: Claims = {}): Claims {
  const now = Math.floor(Date.now() / 1000);
  return { ...claimsOf(token), jti: randomUUID(), iat: now, exp: now + 900, ...overrides };
}

function expectBearer401(res: HttpResponse): void {
  expectProblem(res, 401);
  expect(res.headers.get('www-authenticate')).toBe('Bearer');
}

describe('Forged and misused tokens (e2e)', () => {
  let t: TestApp;
  let user: TestUser;
  let other: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    [user, other] = await Promise.all([createUser(t.http), createUser(t.http)]);
  });
  afterAll(() => t?.close());

  const me = (token: string) => t.http.get('/api/auth/me/', { token });
  const refresh = (token: string) => t.http.post('/api/auth/refresh/', { refresh: token });

  describe('as an access token (GET /api/auth/me/)', () => {
    it('a token signed by hand the way the server signs is accepted (so the 401s below are about the forgery)', async () => {
      const res = await me(sign(claimsLike(user.access)));
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(user.id);
    });

    it.each<[string, () => string]>([
      ['alg none, no signature', () => sign(claimsLike(user.access), { alg: 'none' })],
      ['alg none, with the real signature kept', () => {
        const [, payload, signature] = user.access.split('.');
        return `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`;
      }],
      ['HS384 with the right secret', () => sign(claimsLike(user.access), { alg: 'HS384' })],
      ['HS512 with the right secret', () => sign(claimsLike(user.access), { alg: 'HS512' })],
      ['HS256 with another key', () => sign(claimsLike(user.access), { key: `${TEST_JWT_SECRET}-not` })],
      ['RS256 in the header, HMAC-signed (key confusion)', () => {
        const input = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(claimsLike(user.access))}`;
        return `${input}.${createHmac('sha256', TEST_JWT_SECRET).update(input).digest('base64url')}`;
      }],
      ['a tampered payload (sub of another user)', () => {
        const [header, , signature] = user.access.split('.');
        return `${header}.${b64url({ ...claimsOf(user.access), sub: other.id })}.${signature}`;
      }],
      ['a tampered signature', () => `${user.access.slice(0, -4)}${user.access.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`],
      ['a refresh token', () => user.refresh],
      ['no typ claim', () => sign(claimsLike(user.access, { typ: undefined }))],
      ['a session that does not exist', () => sign(claimsLike(user.access, { sid: randomUUID() }))],
      ['the session of another user', () => sign(claimsLike(user.access, { sub: other.id }))],
      ['garbage', () => 'not-a-token'],
    ])('401 for %s', async (_label, forge) => {
      expectBearer401(await me(forge()));
    });

    it('401 for an expired token, saying so', async () => {
      const now = Math.floor(Date.now() / 1000);
      const res = await me(sign(claimsLike(user.access, { iat: now - 1000, exp: now - 100 })));
      expectBearer401(res);
      expect(res.body.detail).toMatch(/expired/);
    });

    it('401 without the Bearer scheme', async () => {
      expectBearer401(await t.http.get('/api/auth/me/', { headers: { authorization: user.access } }));
      expectBearer401(await t.http.get('/api/auth/me/', { headers: { authorization: `Basic ${user.access}` } }));
      expectBearer401(await t.http.get('/api/auth/me/', { headers: { authorization: 'Bearer ' } }));
    });

    it('none of the forgeries harmed the real token', async () => {
      expect((await me(user.access)).status).toBe(200);
    });
  });

  describe('as a refresh token (POST /api/auth/refresh/)', () => {
    const refreshClaims = (overrides: Claims = {}) => ({ ...claimsOf(user.refresh), ...overrides });

    it.each<[string, () => string]>([
      ['an access token', () => user.access],
      ['an access token re-typed as refresh without the secret', () => {
        const [header, , signature] = user.access.split('.');
        return `${header}.${b64url({ ...claimsOf(user.access), typ: 'refresh' })}.${signature}`;
      }],
      ['alg none', () => sign(refreshClaims(), { alg: 'none' })],
      ['HS384 with the right secret', () => sign(refreshClaims(), { alg: 'HS384' })],
      ['HS512 with the right secret', () => sign(refreshClaims(), { alg: 'HS512' })],
      ['HS256 with another key', () => sign(refreshClaims(), { key: `${TEST_JWT_SECRET}-not` })],
      ['a tampered payload (jti changed)', () => {
        const [header, , signature] = user.refresh.split('.');
        return `${header}.${b64url(refreshClaims({ jti: randomUUID() }))}.${signature}`;
      }],
      ['an expired token', () => {
        const now = Math.floor(Date.now() / 1000);
        return sign(refreshClaims({ iat: now - 2000, exp: now - 100 }));
      }],
    ])('401 for %s', async (_label, forge) => {
      expectBearer401(await refresh(forge()));
    });

    it('none of them touched the session: the real refresh token still rotates', async () => {
      // A rejected forgery that reached the session would have counted as reuse and ended it.
      const res = await refresh(user.refresh);
      expect(res.status).toBe(200);
      expect(claimsOf(res.body.refresh).sid).toBe(claimsOf(user.refresh).sid);
    });

    it('logout refuses an access token or a forged refresh token', async () => {
      const again = await t.http.post('/api/auth/login/', { username: other.username, password: PASSWORD });
      expect(again.status).toBe(200);
      for (const token of [again.body.access, sign({ ...claimsOf(again.body.refresh) }, { alg: 'HS512' })]) {
        expectBearer401(await t.http.post('/api/auth/logout/', { refresh: token }));
      }
      expect((await refresh(again.body.refresh)).status).toBe(200);
    });
  });
});

describe('Tokens signed with our key but without exp, or with crit (e2e)', () => {
  let t: TestApp;
  let user: TestUser;
  const key = new TextEncoder().encode(TEST_JWT_SECRET);

  beforeAll(async () => {
    t = await createTestApp();
    user = await createUser(t.http);
  });
  afterAll(() => t?.close());

  /** The user's real claims, re-signed with jose: no exp unless given, any protected header. */
  async function resign(token: string, { exp, header = {} }: { exp?: number; header?: Record<string, unknown> }) {
    const { iat: _iat, exp: _exp, ...claims } = claimsOf(token);
    const jwt = new SignJWT({ ...claims, jti: randomUUID() })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header })
      .setIssuedAt();
    if (exp !== undefined) jwt.setExpirationTime(exp);
    // jose refuses to sign a crit it does not know unless told it is understood.
    return jwt.sign(key, { crit: { 'x-test': true } });
  }
  const inFifteenMinutes = () => Math.floor(Date.now() / 1000) + 900;
  const crit = { crit: ['x-test'], 'x-test': 1 };

  it('a jose-signed token with exp and no crit is accepted (so the 401s below are about exp and crit)', async () => {
    expect((await t.http.get('/api/auth/me/', { token: await resign(user.access, { exp: inFifteenMinutes() }) })).status).toBe(200);
  });

  it.each<[string, { exp?: number; header?: Record<string, unknown> }]>([
    ['no exp', {}],
    ['a crit header', { exp: inFifteenMinutes(), header: crit }],
    ['no exp and a crit header', { header: crit }],
  ])('401 for an access token with %s', async (_label, shape) => {
    expectBearer401(await t.http.get('/api/auth/me/', { token: await resign(user.access, shape) }));
  });

  it.each<[string, { exp?: number; header?: Record<string, unknown> }]>([
    ['no exp', {}],
    ['a crit header', { exp: inFifteenMinutes(), header: crit }],
  ])('401 for a refresh token with %s, on refresh and logout; the session is untouched', async (_label, shape) => {
    const forged = await resign(user.refresh, shape);
    expectBearer401(await t.http.post('/api/auth/refresh/', { refresh: forged }));
    expectBearer401(await t.http.post('/api/auth/logout/', { refresh: forged }));
    expect((await t.http.get('/api/auth/me/', { token: user.access })).status).toBe(200);
  });
});
