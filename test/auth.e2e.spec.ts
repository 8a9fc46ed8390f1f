import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SESSION_CACHE_MS } from '../src/auth/sessions.service.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildUser, createUser, PASSWORD, type TestUser } from './utils/factories.js';
import type { HttpResponse } from './utils/http.js';
import { expectProblem } from './utils/problem.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;
/** 129 characters: one over the limit. */
const TOO_LONG = `Qh7!zLp-${'k'.repeat(121)}`;
/** The contract: ended sessions' access tokens stop working within 5 seconds. */
const ACCESS_END_DEADLINE_MS = 5000;

interface Claims {
  sub: string;
  sid: string;
  jti: string;
  typ: string;
  iat: number;
  exp: number;
}

function claimsOf(token: string): Claims {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Claims;
}

/** The part of a 401 that must not tell which credential was wrong (instance and request_id differ per request). */
function challenge(res: HttpResponse) {
  const { type, title, status, detail } = res.body as Record<string, unknown>;
  return { type, title, status, detail, wwwAuthenticate: res.headers.get('www-authenticate') };
}

describe('Auth (e2e)', () => {
  let t: TestApp;
  /** A user whose sessions no test ends. */
  let reader: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    reader = await createUser(t.http);
  });
  afterAll(() => t?.close());

  const login = (username: string, password: string = PASSWORD) =>
    t.http.post('/api/auth/login/', { username, password });
  const refresh = (token: string) => t.http.post('/api/auth/refresh/', { refresh: token });
  const me = (token: string) => t.http.get('/api/auth/me/', { token });
  const userCount = async (username: string) => {
    const [row] = await t.dataSource.query('SELECT count(*)::int AS n FROM users WHERE lower(username) = lower($1)', [
      username,
    ]);
    return (row as { n: number }).n;
  };

  /** A second session (another device) of the same user. */
  async function loginAgain(user: TestUser): Promise<{ access: string; refresh: string }> {
    const res = await login(user.username);
    expect(res.status).toBe(200);
    return res.body;
  }

  /**
   * The guard caches session checks for SESSION_CACHE_MS; the contract gives
   * ended sessions 5 seconds. Polls /me until the access token is refused, and
   * fails if it still works after the deadline.
   */
  async function expectAccessEnds(token: string): Promise<void> {
    const deadline = Date.now() + Math.max(ACCESS_END_DEADLINE_MS, SESSION_CACHE_MS + 500);
    let res = await me(token);
    while (res.status === 200 && Date.now() < deadline) {
      await sleep(100);
      res = await me(token);
    }
    expectProblem(res, 401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  }

  describe('POST /api/auth/register/', () => {
    it('201 {id, username, email, date_joined}, never the password or its hash', async () => {
      const input = buildUser();
      const res = await t.http.post('/api/auth/register/', input);
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(UUID),
        username: input.username,
        email: input.email,
        date_joined: expect.stringMatching(ISO_MS),
      });
      expect(res.text).not.toContain(PASSWORD);
      expect(res.text).not.toContain('argon2');
    });

    it('accepts 3 and 150 characters of letters (any script), digits and @.+-_', async () => {
      const long = `a.b+c-d_e@${'x'.repeat(140)}`;
      const short = 'Zoë';
      for (const username of [long, short]) {
        const res = await t.http.post('/api/auth/register/', buildUser({ username }));
        expect({ username, status: res.status }).toEqual({ username, status: 201 });
        expect(res.body.username).toBe(username);
      }
    });

    it.each([
      ['2 characters', 'ab'],
      ['151 characters', 'u'.repeat(151)],
      ['a space', 'ada lovelace'],
      ['a slash', 'ada/lovelace'],
      ['a semicolon', 'ada;drop'],
      ['a quote', "o'brien"],
      ['an empty string', ''],
    ])('400 for a username with %s', async (_label, username) => {
      const res = await t.http.post('/api/auth/register/', buildUser({ username }));
      expectProblem(res, 400, ['username']);
    });

    it('400 naming each missing or mistyped field', async () => {
      expectProblem(await t.http.post('/api/auth/register/', {}), 400, ['email', 'password', 'username']);
      expectProblem(await t.http.post('/api/auth/register/', buildUser({ email: 'not-an-email' })), 400, ['email']);
      expectProblem(
        await t.http.post('/api/auth/register/', { ...buildUser(), password: 12345678901 }),
        400,
        ['password'],
      );
      expectProblem(await t.http.post('/api/auth/register/', { ...buildUser(), role: 'admin' }), 400, ['role']);
    });

    it('usernames are unique regardless of case (Ada and ada -> 409), and login matches them regardless of case', async () => {
      const tag = buildUser().username.slice(5);
      const first = await t.http.post('/api/auth/register/', buildUser({ username: `Ada_${tag}` }));
      expect(first.status).toBe(201);

      const dup = await t.http.post('/api/auth/register/', buildUser({ username: `ada_${tag}` }));
      expectProblem(dup, 409);
      expect(dup.body.detail).toMatch(/username/);
      expect(await userCount(`ada_${tag}`)).toBe(1);

      const res = await login(`ADA_${tag.toUpperCase()}`);
      expect(res.status).toBe(200);
      expect(claimsOf(res.body.access).sub).toBe(first.body.id);
    });

    it('usernames are NFKC-normalised (as Django), at registration and at login alike', async () => {
      const tag = buildUser().username.slice(5);
      const typed = `Ｇｒａｃｅ_${tag}`; // fullwidth letters, as some keyboards produce
      const reg = await t.http.post('/api/auth/register/', buildUser({ username: typed }));
      expect(reg.status).toBe(201);
      expect(reg.body.username).toBe(`Grace_${tag}`);
      expectProblem(await t.http.post('/api/auth/register/', buildUser({ username: `grace_${tag}` })), 409);
      // The user types the same thing at login as at registration.
      expect((await login(typed)).status).toBe(200);
    });

    it('409 for an email that exists, whatever its case', async () => {
      const first = buildUser();
      expect((await t.http.post('/api/auth/register/', first)).status).toBe(201);
      for (const email of [first.email, first.email.toUpperCase()]) {
        const res = await t.http.post('/api/auth/register/', buildUser({ email }));
        expectProblem(res, 409);
        expect(res.body.detail).toMatch(/email/);
      }
    });

    describe('password rules (400 with errors.password, and no user is created)', () => {
      it.each([
        ['shorter than 8 characters', () => buildUser({ password: 'Qh7!zLp' }), /at least 8/],
        ['longer than 128 characters (never truncated)', () => buildUser({ password: TOO_LONG }), /at most 128/],
        ['entirely numeric', () => buildUser({ password: '80417395261837' }), /numeric/],
        ['a common password', () => buildUser({ password: 'password123' }), /common/],
        ['a common password in other case', () => buildUser({ password: 'PassWord123' }), /common/],
        ['too similar to the username', () => {
          const user = buildUser();
          return { ...user, password: `${user.username}!` };
        }, /username/],
        ['too similar to the email', () => {
          const tag = buildUser().username.slice(5);
          return buildUser({ email: `marie.curie.${tag}@example.org`, password: `MarieCurie${tag}` });
        }, /email/],
      ])('%s', async (_label, build, message) => {
        const input = build();
        const res = await t.http.post('/api/auth/register/', input);
        expectProblem(res, 400, ['password']);
        expect(res.body.errors.password).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
        expect(await userCount(input.username)).toBe(0);
      });
    });

    it('accepts 128 characters and never truncates: only the exact password logs in', async () => {
      const password = `Tide-${'0123456789abcdef'.repeat(8)}`.slice(0, 128);
      expect(password).toHaveLength(128);
      const input = buildUser({ password });
      expect((await t.http.post('/api/auth/register/', input)).status).toBe(201);

      expect((await login(input.username, password)).status).toBe(200);
      // bcrypt would accept these two: it reads only the first 72 bytes.
      expectProblem(await login(input.username, password.slice(0, 72)), 401);
      expectProblem(await login(input.username, `${password.slice(0, 127)}!`), 401);
    });
  });

  describe('POST /api/auth/login/', () => {
    it('200 {refresh, access}: HS256 tokens of one session with sub, sid, jti, iat, exp and typ', async () => {
      const res = await login(reader.username);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ refresh: expect.stringMatching(JWT), access: expect.stringMatching(JWT) });

      const header = JSON.parse(Buffer.from(res.body.access.split('.')[0], 'base64url').toString('utf8'));
      expect(header).toMatchObject({ alg: 'HS256' });
      const access = claimsOf(res.body.access);
      const refreshClaims = claimsOf(res.body.refresh);
      expect(access).toEqual({
        sub: reader.id,
        sid: expect.stringMatching(UUID),
        jti: expect.stringMatching(UUID),
        typ: 'access',
        iat: expect.any(Number),
        exp: expect.any(Number),
      });
      expect(refreshClaims).toEqual({
        ...access,
        jti: expect.stringMatching(UUID),
        typ: 'refresh',
        iat: expect.any(Number),
        exp: expect.any(Number),
      });
      expect(refreshClaims.jti).not.toBe(access.jti);
      expect(access.exp - access.iat).toBe(900);
      expect(refreshClaims.exp - refreshClaims.iat).toBe(1800);

      // A login opens a session of its own.
      expect(access.sid).not.toBe(claimsOf(reader.access).sid);
    });

    it('answers with and without the trailing slash', async () => {
      const res = await t.http.post('/api/auth/login', { username: reader.username, password: PASSWORD });
      expect(res.status).toBe(200);
    });

    it('unknown user, wrong password and inactive user get the same 401 body', async () => {
      const inactive = await createUser(t.http);
      // Primes the guard's session cache, so the check below covers its expiry.
      expect((await me(inactive.access)).status).toBe(200);
      await t.dataSource.query('UPDATE users SET is_active = false WHERE id = $1', [inactive.id]);

      const unknown = await login(`nobody_${buildUser().username}`);
      const wrong = await login(reader.username, `${PASSWORD}-wrong`);
      const disabled = await login(inactive.username);
      for (const res of [unknown, wrong, disabled]) expectProblem(res, 401);
      expect(challenge(unknown)).toEqual({
        type: 'about:blank',
        title: 'Unauthorized',
        status: 401,
        detail: expect.any(String),
        wwwAuthenticate: 'Bearer',
      });
      expect(challenge(wrong)).toEqual(challenge(unknown));
      expect(challenge(disabled)).toEqual(challenge(unknown));

      // Deactivation also ends the sessions the user already had (access first: a refused refresh clears the cache).
      await expectAccessEnds(inactive.access);
      expectProblem(await refresh(inactive.refresh), 401);
    });

    it('400 for a missing field', async () => {
      expectProblem(await t.http.post('/api/auth/login/', { username: reader.username }), 400, ['password']);
    });
  });

  describe('POST /api/auth/refresh/', () => {
    it('rotates: a new pair for the same session; the old refresh token is spent', async () => {
      const user = await loginAgain(reader);
      const first = await refresh(user.refresh);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ access: expect.stringMatching(JWT), refresh: expect.stringMatching(JWT) });
      expect(first.body.refresh).not.toBe(user.refresh);

      const before = claimsOf(user.refresh);
      const access = claimsOf(first.body.access);
      const rotated = claimsOf(first.body.refresh);
      expect(access).toMatchObject({ sub: reader.id, sid: before.sid, typ: 'access' });
      expect(rotated).toMatchObject({ sub: reader.id, sid: before.sid, typ: 'refresh' });
      expect(rotated.jti).not.toBe(before.jti);
      expect(access.exp - access.iat).toBe(900);
      expect(rotated.exp - rotated.iat).toBe(1800);
      expect((await me(first.body.access)).status).toBe(200);

      // The newest one rotates again.
      const second = await refresh(first.body.refresh);
      expect(second.status).toBe(200);
    });

    it('reuse of a spent refresh token -> 401 and the whole family is revoked; other sessions live on', async () => {
      const device = await loginAgain(reader);
      const other = await loginAgain(reader);
      const rotated = await refresh(device.refresh);
      expect(rotated.status).toBe(200);

      const reuse = await refresh(device.refresh);
      expectProblem(reuse, 401);
      expect(reuse.headers.get('www-authenticate')).toBe('Bearer');
      // The newest token of the family is revoked too, and so are the session's access tokens.
      expectProblem(await refresh(rotated.body.refresh), 401);
      await expectAccessEnds(rotated.body.access);
      await expectAccessEnds(device.access);

      expect((await refresh(other.refresh)).status).toBe(200);
      expect((await me(other.access)).status).toBe(200);
    });

    it('401 once the refresh token has been unused too long, or the session has reached its absolute end', async () => {
      const idle = await loginAgain(reader);
      await t.dataSource.query(`UPDATE sessions SET refresh_expires_at = now() - interval '1 second' WHERE id = $1`, [
        claimsOf(idle.refresh).sid,
      ]);
      expectProblem(await refresh(idle.refresh), 401);

      const old = await loginAgain(reader);
      expect((await me(old.access)).status).toBe(200);
      await t.dataSource.query(
        `UPDATE sessions SET expires_at = now() - interval '1 second', refresh_expires_at = now() - interval '1 second'
          WHERE id = $1`,
        [claimsOf(old.refresh).sid],
      );
      await expectAccessEnds(old.access);
      expectProblem(await refresh(old.refresh), 401);
    });

    it('401 for a token that does not verify, 400 without one', async () => {
      for (const token of ['garbage', 'a.b.c', `${reader.refresh.slice(0, -2)}xx`]) {
        const res = await refresh(token);
        expectProblem(res, 401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
      }
      expectProblem(await t.http.post('/api/auth/refresh/', {}), 400, ['refresh']);
    });
  });

  describe('POST /api/auth/logout/', () => {
    it('204 without an access token; that session ends, the others do not', async () => {
      const device = await loginAgain(reader);
      const other = await loginAgain(reader);
      expect((await me(device.access)).status).toBe(200);

      const res = await t.http.post('/api/auth/logout/', { refresh: device.refresh });
      expect(res.status).toBe(204);
      expect(res.text).toBe('');

      expectProblem(await refresh(device.refresh), 401);
      await expectAccessEnds(device.access);
      expect((await me(other.access)).status).toBe(200);
      expect((await refresh(other.refresh)).status).toBe(200);
    });

    it('401 for a garbage, unsigned or access token; 400 without one', async () => {
      const [header, payload] = reader.refresh.split('.');
      const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
      for (const token of ['garbage', unsigned, `${header}.${payload}.`, reader.access]) {
        const res = await t.http.post('/api/auth/logout/', { refresh: token });
        expectProblem(res, 401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
      }
      expectProblem(await t.http.post('/api/auth/logout/', {}), 400, ['refresh']);
      // None of those ended the reader's session.
      expect((await me(reader.access)).status).toBe(200);
    });
  });

  describe('POST /api/auth/logout-all/', () => {
    it('401 without an access token', async () => {
      const res = await t.http.post('/api/auth/logout-all/');
      expectProblem(res, 401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('204 and every refresh token of the caller is revoked; other users are untouched', async () => {
      const user = await createUser(t.http);
      const second = await loginAgain(user);
      const rotated = await refresh(second.refresh);
      expect(rotated.status).toBe(200);

      const res = await t.http.post('/api/auth/logout-all/', undefined, { token: user.access });
      expect(res.status).toBe(204);
      expect(res.text).toBe('');

      for (const token of [user.refresh, rotated.body.refresh]) expectProblem(await refresh(token), 401);
      await expectAccessEnds(user.access);
      await expectAccessEnds(rotated.body.access);
      expect((await me(reader.access)).status).toBe(200);
      // Logging in again still works.
      expect((await login(user.username)).status).toBe(200);
    });
  });

  describe('POST /api/auth/password/', () => {
    it('401 without an access token', async () => {
      const res = await t.http.post('/api/auth/password/', { old_password: PASSWORD, new_password: 'x' });
      expectProblem(res, 401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('400 for a wrong old_password, a new_password that breaks the rules, or a missing field', async () => {
      const change = (body: unknown) => t.http.post('/api/auth/password/', body, { token: reader.access });
      const wrongOld = await change({ old_password: `${PASSWORD}-nope`, new_password: 'Fresh-Granite-Meadow-77' });
      expectProblem(wrongOld, 400, ['old_password']);

      for (const newPassword of ['Sh0rt!x', 'password123', '80417395261837', `${reader.username}!`, TOO_LONG]) {
        const res = await change({ old_password: PASSWORD, new_password: newPassword });
        expectProblem(res, 400, ['new_password']);
      }
      expectProblem(await change({ old_password: PASSWORD }), 400, ['new_password']);
      // Nothing changed: the old password still logs in and the session is live.
      expect((await login(reader.username)).status).toBe(200);
      expect((await me(reader.access)).status).toBe(200);
    });

    it('204: every session ends, the old password stops working and the new one works', async () => {
      const user = await createUser(t.http);
      const second = await loginAgain(user);
      const newPassword = 'Fresh-Granite-Meadow-77';

      const res = await t.http.post(
        '/api/auth/password/',
        { old_password: PASSWORD, new_password: newPassword },
        { token: user.access },
      );
      expect(res.status).toBe(204);
      expect(res.text).toBe('');

      for (const token of [user.refresh, second.refresh]) expectProblem(await refresh(token), 401);
      expectProblem(await login(user.username, PASSWORD), 401);
      const again = await login(user.username, newPassword);
      expect(again.status).toBe(200);
      expect((await me(again.body.access)).status).toBe(200);
      await expectAccessEnds(user.access);
      await expectAccessEnds(second.access);
    });
  });

  describe('GET /api/auth/me/', () => {
    it('401 with a Bearer challenge without a token', async () => {
      const res = await t.http.get('/api/auth/me/');
      expectProblem(res, 401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('the caller {id, username, email, role, date_joined}, with and without the trailing slash', async () => {
      const input = buildUser();
      const reg = await t.http.post('/api/auth/register/', input);
      const tokens = await login(input.username);
      const res = await me(tokens.body.access);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ...reg.body, role: 'user' });
      const bare = await t.http.get('/api/auth/me', { token: tokens.body.access });
      expect(bare.body).toEqual(res.body);
    });
  });
});
