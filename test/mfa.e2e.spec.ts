import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateSync } from 'otplib';
import { buildOpenApiDocument } from '../src/app.setup.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { createAdmin, createUser, PASSWORD, type TestUser } from './utils/factories.js';
import type { HttpResponse } from './utils/http.js';
import { expectProblem } from './utils/problem.js';

const PERIOD = 30;

/** The code an authenticator app shows `offset` steps from now (-1 and +1 are within the accepted drift). */
function totp(secret: string, offset = 0): string {
  return generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + offset * PERIOD });
}

/** The part of a 401 that must not tell which credential was wrong. */
function challenge(res: HttpResponse) {
  const { type, title, status, detail } = res.body as Record<string, unknown>;
  return { type, title, status, detail, wwwAuthenticate: res.headers.get('www-authenticate') };
}

interface Enrolled {
  secret: string;
  recoveryCodes: string[];
}

describe('Second factor (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  const login = (user: { username: string }, extra: Record<string, unknown> = {}, password = PASSWORD) =>
    t.http.post('/api/auth/login/', { username: user.username, password, ...extra });
  const setup = (token: string) => t.http.post('/api/auth/mfa/setup/', undefined, { token });
  const confirm = (token: string, body: unknown) => t.http.post('/api/auth/mfa/confirm/', body, { token });
  const disable = (token: string, body: unknown) => t.http.post('/api/auth/mfa/disable/', body, { token });
  const status = (token: string) => t.http.get('/api/auth/mfa/', { token });

  /** Sets up and confirms a factor for the user (confirming with the previous step's code, so later steps stay free). */
  async function enroll(user: TestUser): Promise<Enrolled> {
    const started = await setup(user.access);
    expect(started.status).toBe(200);
    const confirmed = await confirm(user.access, { code: totp(started.body.secret, -1) });
    expect(confirmed.status).toBe(200);
    return { secret: started.body.secret, recoveryCodes: confirmed.body.recovery_codes };
  }

  /** The MFA audit events about a user, oldest first (refusals are written without waiting: polls briefly). */
  async function mfaEvents(userId: string, atLeast: number): Promise<Array<{ action: string; status: number; reason: string | null }>> {
    for (let i = 0; ; i++) {
      const rows: Array<{ action: string; status: number; reason: string | null }> = await t.dataSource.query(
        `SELECT action, status, reason FROM audit_events
          WHERE resource_id = $1 AND (action LIKE 'mfa%' OR action = 'login_failed') ORDER BY seq`,
        [userId],
      );
      if (rows.length >= atLeast || i === 50) return rows;
      await sleep(50);
    }
  }

  describe('POST /api/auth/mfa/setup/', () => {
    it('401 without a token', async () => {
      expectProblem(await setup(''), 401);
      expectProblem(await t.http.get('/api/auth/mfa/'), 401);
    });

    it('returns a base32 secret and its otpauth URI; nothing is asked at login until it is confirmed', async () => {
      const user = await createUser(t.http);
      const res = await setup(user.access);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['otpauth_uri', 'secret']);
      expect(res.body.secret).toMatch(/^[A-Z2-7]{32}$/);
      const uri = new URL(res.body.otpauth_uri);
      expect(uri.protocol).toBe('otpauth:');
      expect(uri.host).toBe('totp');
      expect(decodeURIComponent(uri.pathname)).toContain(user.username);
      expect(uri.searchParams.get('secret')).toBe(res.body.secret);
      expect((await status(user.access)).body).toEqual({ enabled: false, pending: true, required: false, recovery_codes_left: 0 });
      expect((await login(user)).status).toBe(200);
      // A second setup replaces the pending secret: only the new one confirms.
      const again = await setup(user.access);
      expect(again.body.secret).not.toBe(res.body.secret);
      expectProblem(await confirm(user.access, { code: totp(res.body.secret) }), 400, ['code']);
      expect((await confirm(user.access, { code: totp(again.body.secret) })).status).toBe(200);
    });

    it('the secret is stored encrypted, and the recovery codes only as hashes', async () => {
      const user = await createUser(t.http);
      const { secret, recoveryCodes } = await enroll(user);
      const dump = JSON.stringify(
        await t.dataSource.query(
          `SELECT f.*, (SELECT json_agg(c) FROM mfa_recovery_codes c WHERE c.user_id = f.user_id) AS codes
             FROM mfa_factors f WHERE f.user_id = $1`,
          [user.id],
        ),
      );
      expect(dump).toContain(user.id);
      expect(dump).not.toContain(secret);
      expect(dump.toLowerCase()).not.toContain(secret.toLowerCase());
      for (const code of recoveryCodes) {
        expect(dump).not.toContain(code);
        expect(dump).not.toContain(code.replaceAll('-', ''));
      }
    });
  });

  describe('POST /api/auth/mfa/confirm/', () => {
    it.each([
      ['no code', {}, ['code']],
      ['five digits', { code: '12345' }, ['code']],
      ['seven digits', { code: '1234567' }, ['code']],
      ['letters', { code: 'abcdef' }, ['code']],
      ['a number, not a string', { code: 123456 }, ['code']],
      ['an unknown field', { code: '123456', extra: 1 }, ['extra']],
    ])('400 naming the field for %s, and nothing is turned on', async (_label, body, fields) => {
      const user = await createUser(t.http);
      await setup(user.access);
      expectProblem(await confirm(user.access, body), 400, fields);
      expect((await status(user.access)).body.enabled).toBe(false);
    });

    it('400 for a wrong code; 409 without a setup, and once on', async () => {
      const user = await createUser(t.http);
      expectProblem(await confirm(user.access, { code: '000000' }), 409);
      const { body } = await setup(user.access);
      const wrong = totp(body.secret) === '000000' ? '111111' : '000000';
      expectProblem(await confirm(user.access, { code: wrong }), 400, ['code']);
      const ok = await confirm(user.access, { code: totp(body.secret) });
      expect(ok.status).toBe(200);
      expectProblem(await confirm(user.access, { code: totp(body.secret, 1) }), 409);
      expectProblem(await setup(user.access), 409);
    });

    it('turns the factor on and returns ten distinct recovery codes, shown once', async () => {
      const user = await createUser(t.http);
      const { recoveryCodes } = await enroll(user);
      expect(recoveryCodes).toHaveLength(10);
      expect(new Set(recoveryCodes).size).toBe(10);
      for (const code of recoveryCodes) expect(code).toMatch(/^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
      expect((await status(user.access)).body).toEqual({ enabled: true, pending: false, required: false, recovery_codes_left: 10 });
    });
  });

  describe('login with a second factor', () => {
    let user: TestUser;
    let enrolled: Enrolled;

    beforeAll(async () => {
      user = await createUser(t.http);
      enrolled = await enroll(user);
    });

    it('without otp, or with a wrong one: the same 401 as a wrong password', async () => {
      const wrongPassword = await login(user, {}, 'Not-The-Password-42');
      expectProblem(wrongPassword, 401);
      const reference = challenge(wrongPassword);
      const wrong = totp(enrolled.secret) === '000000' ? '111111' : '000000';
      for (const extra of [{}, { otp: '' }, { otp: wrong }, { otp: 'zzzz-zzzz-zzzz' }, { otp: totp(enrolled.secret, 3) }]) {
        const res = await login(user, extra);
        expectProblem(res, 401);
        expect(challenge(res)).toEqual(reference);
      }
      // A right code with a wrong password is no better.
      expect(challenge(await login(user, { otp: totp(enrolled.secret) }, 'Not-The-Password-42'))).toEqual(reference);
    });

    it('a TOTP code logs in once: replaying it (or an older step) is refused, the next step works', async () => {
      const code = totp(enrolled.secret);
      const first = await login(user, { otp: code });
      expect(first.status).toBe(200);
      expect(Object.keys(first.body).sort()).toEqual(['access', 'refresh']);
      expectProblem(await login(user, { otp: code }), 401);
      expectProblem(await login(user, { otp: totp(enrolled.secret, -1) }), 401);
      expect((await login(user, { otp: totp(enrolled.secret, 1) })).status).toBe(200);
    });

    it('the same code sent twice at once logs in only once', async () => {
      const other = await createUser(t.http);
      const { secret } = await enroll(other);
      const code = totp(secret);
      const results = await Promise.all([login(other, { otp: code }), login(other, { otp: code }), login(other, { otp: code })]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401]);
    });

    it('a recovery code works once, typed in any case with or without dashes', async () => {
      const [code, second] = enrolled.recoveryCodes;
      expect((await login(user, { otp: ` ${code.toUpperCase()} ` })).status).toBe(200);
      expectProblem(await login(user, { otp: code }), 401);
      expect((await login(user, { otp: second.replaceAll('-', '') })).status).toBe(200);
      expect((await status(user.access)).body.recovery_codes_left).toBe(8);
      // Another account's code is no use here.
      const other = await createUser(t.http);
      const theirs = await enroll(other);
      expectProblem(await login(user, { otp: theirs.recoveryCodes[0] }), 401);
      expect((await login(other, { otp: theirs.recoveryCodes[0] })).status).toBe(200);
    });

    it.each([
      ['a number', 123456],
      ['an object', { code: '123456' }],
      ['65 characters', 'a'.repeat(65)],
    ])('400 naming otp when it is %s', async (_label, otp) => {
      expectProblem(await login(user, { otp }), 400, ['otp']);
    });

    it('an account without a factor ignores otp', async () => {
      const plain = await createUser(t.http);
      expect((await login(plain, { otp: '123456' })).status).toBe(200);
    });
  });

  describe('POST /api/auth/mfa/disable/', () => {
    it('400 naming each missing field', async () => {
      const user = await createUser(t.http);
      await enroll(user);
      expectProblem(await disable(user.access, {}), 400, ['code', 'password']);
      expectProblem(await disable(user.access, { password: PASSWORD, code: 'x'.repeat(65) }), 400, ['code']);
      expectProblem(await disable(user.access, { password: 1, code: '123456' }), 400, ['password']);
    });

    it('needs the password and a code; a wrong one of either is one 400 naming both, and changes nothing', async () => {
      const user = await createUser(t.http);
      const { secret } = await enroll(user);
      const wrongPassword = await disable(user.access, { password: 'Not-The-Password-42', code: totp(secret) });
      expectProblem(wrongPassword, 400, ['code', 'password']);
      const wrongCode = await disable(user.access, { password: PASSWORD, code: totp(secret) === '000000' ? '111111' : '000000' });
      expectProblem(wrongCode, 400, ['code', 'password']);
      expect(wrongCode.body.errors).toEqual(wrongPassword.body.errors);
      expect((await status(user.access)).body.enabled).toBe(true);
      expectProblem(await login(user), 401);

      // The code refused with the wrong password was not spent.
      expect((await disable(user.access, { password: PASSWORD, code: totp(secret) })).status).toBe(204);
      expect((await status(user.access)).body).toEqual({ enabled: false, pending: false, required: false, recovery_codes_left: 0 });
      expect((await login(user)).status).toBe(200);
      expectProblem(await disable(user.access, { password: PASSWORD, code: totp(secret, 1) }), 409);
    });

    it('a recovery code will do, and the others stop working', async () => {
      const user = await createUser(t.http);
      const { recoveryCodes } = await enroll(user);
      expect((await disable(user.access, { password: PASSWORD, code: recoveryCodes[0] })).status).toBe(204);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1`, [user.id]);
      expect(n).toBe(0);
    });
  });

  it('every step is an audit event: setup, confirm, failed codes, recovery code used, disable', async () => {
    const user = await createUser(t.http);
    const { secret, recoveryCodes } = await enroll(user);
    const wrong = totp(secret) === '000000' ? '111111' : '000000';
    await login(user, { otp: wrong });
    await login(user);
    expect((await login(user, { otp: totp(secret) })).status).toBe(200);
    await login(user, { otp: totp(secret) });
    expect((await login(user, { otp: recoveryCodes[0] })).status).toBe(200);
    await login(user, { otp: recoveryCodes[0] });
    expect((await disable(user.access, { password: PASSWORD, code: totp(secret, 1) })).status).toBe(204);

    // Refusals are written without waiting, so events of one request may land in either order.
    const events = await mfaEvents(user.id, 11);
    const sorted = (list: typeof events) => list.map((e) => JSON.stringify(e)).sort();
    expect(sorted(events)).toEqual(sorted([
      { action: 'mfa_setup', status: 200, reason: null },
      { action: 'mfa_confirmed', status: 200, reason: null },
      { action: 'mfa_failed', status: 401, reason: 'wrong_code' },
      { action: 'login_failed', status: 401, reason: 'wrong_otp' },
      { action: 'login_failed', status: 401, reason: 'missing_otp' },
      { action: 'mfa_failed', status: 401, reason: 'replayed_code' },
      { action: 'login_failed', status: 401, reason: 'wrong_otp' },
      { action: 'mfa_recovery_used', status: 200, reason: null },
      { action: 'mfa_failed', status: 401, reason: 'wrong_recovery_code' },
      { action: 'login_failed', status: 401, reason: 'wrong_otp' },
      { action: 'mfa_disabled', status: 204, reason: null },
    ]));
    expect(events.slice(0, 2).map((e) => e.action)).toEqual(['mfa_setup', 'mfa_confirmed']);
    expect(events.at(-1)?.action).toBe('mfa_disabled');
  });
});

describe('Second factor: failed codes count in the failed-login lockout (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ LOGIN_FAILURE_LIMIT: '3' });
  });
  afterAll(() => t?.close());

  it('after three wrong codes even the right password and code are refused with 429', async () => {
    const user = await createUser(t.http);
    const { body } = await t.http.post('/api/auth/mfa/setup/', undefined, { token: user.access });
    expect((await t.http.post('/api/auth/mfa/confirm/', { code: totp(body.secret, -1) }, { token: user.access })).status).toBe(200);
    const wrong = totp(body.secret) === '000000' ? '111111' : '000000';
    for (let i = 0; i < 3; i++) {
      expectProblem(await t.http.post('/api/auth/login/', { username: user.username, password: PASSWORD, otp: wrong }), 401);
    }
    const locked = await t.http.post('/api/auth/login/', { username: user.username, password: PASSWORD, otp: totp(body.secret) });
    expectProblem(locked, 429);
  });
});

describe('ADMIN_MFA_REQUIRED=true (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ ADMIN_MFA_REQUIRED: 'true' });
  });
  afterAll(() => t?.close());

  /** Every operation of the API document that needs a token, but those an admin may use to set up the factor. */
  function restrictedOperations(): Array<[string, string]> {
    const doc = buildOpenApiDocument(t.app);
    const allowed = new Set(['GET /api/auth/mfa', 'POST /api/auth/mfa/setup', 'POST /api/auth/mfa/confirm', 'POST /api/auth/logout-all']);
    return Object.entries(doc.paths)
      .flatMap(([path, item]) =>
        Object.entries(item as Record<string, { security?: unknown[] }>)
          .filter(([, op]) => (op.security?.length ?? 0) > 0)
          .map(([method, op]) => [method.toUpperCase(), path, op] as const),
      )
      .filter(([method, path]) => !allowed.has(`${method} ${path}`))
      .map(([method, path]) => [method, path.replace(/\{[^}]+\}/g, randomUUID())]);
  }

  it('an admin without a second factor logs in, but reaches only the MFA setup routes until it is confirmed', async () => {
    const admin = await createAdmin(t);
    const operations = restrictedOperations();
    // The whole API: the resources, the admin routes, the account routes.
    expect(operations.length).toBeGreaterThan(15);
    for (const [method, path] of operations) {
      const res = await t.http.request(method, path, { token: admin.access, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
      expectProblem(res, 403);
      expect(res.body.detail).toMatch(/two-factor authentication.*\/api\/auth\/mfa\/setup\//i);
    }
    expect((await t.http.get('/api/auth/mfa/', { token: admin.access })).body).toEqual({
      enabled: false,
      pending: false,
      required: true,
      recovery_codes_left: 0,
    });

    const { body } = await t.http.post('/api/auth/mfa/setup/', undefined, { token: admin.access });
    expectProblem(await t.http.get('/api/auth/me/', { token: admin.access }), 403);
    const confirmed = await t.http.post('/api/auth/mfa/confirm/', { code: totp(body.secret) }, { token: admin.access });
    expect(confirmed.status).toBe(200);
    // The same token now reaches everything.
    expect((await t.http.get('/api/auth/me/', { token: admin.access })).status).toBe(200);
    expect((await t.http.get('/api/admin/users/', { token: admin.access })).status).toBe(200);
    // And the next login needs the code.
    expectProblem(await t.http.post('/api/auth/login/', { username: admin.username, password: PASSWORD }), 401);
    const next = await t.http.post('/api/auth/login/', { username: admin.username, password: PASSWORD, otp: totp(body.secret, 1) });
    expect(next.status).toBe(200);
    expect((await t.http.get('/api/admin/patients/', { token: next.body.access })).status).toBe(200);
  });

  it('refusals are audited, and the restriction returns when the admin turns the factor off', async () => {
    const admin = await createAdmin(t);
    expectProblem(await t.http.get('/api/patients/', { token: admin.access }), 403);
    const { body } = await t.http.post('/api/auth/mfa/setup/', undefined, { token: admin.access });
    await t.http.post('/api/auth/mfa/confirm/', { code: totp(body.secret, -1) }, { token: admin.access });
    expect((await t.http.get('/api/patients/', { token: admin.access })).status).toBe(200);
    const off = await t.http.post('/api/auth/mfa/disable/', { password: PASSWORD, code: totp(body.secret) }, { token: admin.access });
    expect(off.status).toBe(204);
    expectProblem(await t.http.get('/api/patients/', { token: admin.access }), 403);
    let denied: Array<{ n: number }> = [];
    for (let i = 0; i < 50; i++) {
      denied = await t.dataSource.query(
        `SELECT count(*)::int AS n FROM audit_events WHERE actor_id = $1 AND action = 'access_denied' AND status = 403 AND reason = 'mfa_enrollment_required'`,
        [admin.id],
      );
      if (denied[0].n >= 2) break;
      await sleep(50);
    }
    expect(denied[0].n).toBe(2);
  });

  it('logout-all is allowed, and users who are not admins are not affected', async () => {
    const user = await createUser(t.http);
    expect((await t.http.get('/api/patients/', { token: user.access })).status).toBe(200);
    expect((await t.http.get('/api/auth/mfa/', { token: user.access })).body.required).toBe(false);
    const admin = await createAdmin(t);
    expect((await t.http.post('/api/auth/logout-all/', undefined, { token: admin.access })).status).toBe(204);
  });
});
