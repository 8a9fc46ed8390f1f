import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { createUser, PASSWORD } from './utils/factories.js';
import type { HttpResponse } from './utils/http.js';
import { expectProblem } from './utils/problem.js';

/** Issue 11 item 4 (one canonical username) and item 5 (password change is a password check like login). */

const WRONG = 'Wrong-Harbour-Guess-13';

/** Each ASCII letter, digit and `_` of `s` in another Unicode form that NFKC maps back to it. */
const fullwidth = (s: string) => s.replace(/[!-~]/g, (c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0));
const mathBold = (s: string) =>
  s.replace(/[a-z0-9]/g, (c) =>
    /\d/.test(c) ? String.fromCodePoint(0x1d7ce + Number(c)) : String.fromCodePoint(0x1d41a + c.charCodeAt(0) - 97),
  );
const circled = (s: string) =>
  s.replace(/[a-z1-9]/g, (c) =>
    /\d/.test(c) ? String.fromCodePoint(0x2460 + Number(c) - 1) : String.fromCodePoint(0x24d0 + c.charCodeAt(0) - 97),
  );

/**
 * Every spelling that must reach the account `tim1_sk_<tag>`: case, U+0130
 * (LATIN CAPITAL LETTER I WITH DOT ABOVE, the reported bypass), compatibility
 * forms, a Kelvin sign and a long s, combining sequences. `registrable`: it
 * also passes the username pattern once NFKC-normalised (the others are
 * refused with 400 at registration, and only matter at login).
 */
function spellings(base: string): Array<{ label: string; username: string; registrable: boolean }> {
  return [
    { label: 'upper case', username: base.toUpperCase(), registrable: true },
    { label: 'mixed case', username: base.replace(/^t/, 'T').replace('sk', 'Sk'), registrable: true },
    { label: 'U+0130 for i', username: base.replace('i', '\u0130'), registrable: true },
    { label: 'I + U+0307 (composes to U+0130)', username: base.replace('i', 'I\u0307'), registrable: true },
    { label: 'i + U+0307 (stays a combining sequence)', username: base.replace('i', 'i\u0307'), registrable: false },
    { label: 'fullwidth letters', username: fullwidth(base), registrable: true },
    { label: 'mathematical bold', username: mathBold(base), registrable: true },
    { label: 'circled letters and digits', username: circled(base), registrable: true },
    { label: 'Kelvin sign for k', username: base.replace('k', '\u212a'), registrable: true },
    { label: 'long s for s', username: base.replace('s', '\u017f'), registrable: true },
    { label: 'a mix of forms and cases', username: fullwidth('T') + '\u0130' + mathBold('m1') + base.slice(4).toUpperCase(), registrable: true },
  ];
}

function expectLocked(res: HttpResponse): void {
  expectProblem(res, 429);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

describe('One canonical username for register, login and the lockout (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ LOGIN_FAILURE_LIMIT: '3', LOGIN_FAILURE_WINDOW: '900' });
  });
  afterAll(() => t?.close());

  const login = (username: string, password = PASSWORD) => t.http.post('/api/auth/login/', { username, password });
  /** A fresh username of letters (hex digits only a-f) with an i, a k and an s in it. */
  const baseName = () => `tim1_sk_${randomUUID().replaceAll('-', '').slice(0, 8).replace(/\d/g, 'a')}`;

  it('a locked account is locked in every spelling that reaches it, the right password included', async () => {
    const base = baseName();
    await createUser(t.http, { username: base });
    for (let i = 0; i < 3; i++) expectProblem(await login(base, WRONG), 401);
    for (const { label, username } of spellings(base)) {
      const res = await login(username);
      expect({ label, status: res.status }).toEqual({ label, status: 429 });
      expectLocked(res);
    }
    expectLocked(await login(base));
  });

  it('failures through different spellings add up on the one account', async () => {
    const base = baseName();
    await createUser(t.http, { username: base });
    const [upper, dotted, wide] = [base.toUpperCase(), base.replace('i', '\u0130'), fullwidth(base)];
    for (const username of [upper, dotted, wide]) expectProblem(await login(username, WRONG), 401);
    expectLocked(await login(base));
  });

  it('a name without an account is locked by its canonical form too', async () => {
    const ghost = baseName();
    for (const username of [ghost, ghost.toUpperCase(), fullwidth(ghost)]) expectProblem(await login(username, WRONG), 401);
    expectLocked(await login(ghost.replace('i', '\u0130'), WRONG));
  });

  it('before any lock, every spelling logs in to the same account', async () => {
    const base = baseName();
    const user = await createUser(t.http, { username: base });
    for (const { label, username } of spellings(base)) {
      const res = await login(username);
      expect({ label, status: res.status }).toEqual({ label, status: 200 });
      const sub = JSON.parse(Buffer.from(res.body.access.split('.')[1], 'base64url').toString('utf8')).sub;
      expect({ label, sub }).toEqual({ label, sub: user.id });
    }
  });

  it('registration refuses every spelling of a taken username (409; 400 where the pattern already refuses it)', async () => {
    const base = baseName();
    await createUser(t.http, { username: base });
    for (const { label, username, registrable } of spellings(base)) {
      const tag = randomUUID().slice(0, 8);
      const res = await t.http.post('/api/auth/register/', { username, email: `x_${tag}@example.org`, password: PASSWORD });
      if (registrable) {
        expect({ label, status: res.status }).toEqual({ label, status: 409 });
        expectProblem(res, 409);
        expect(res.body.detail).toMatch(/username/);
      } else {
        expectProblem(res, 400, ['username']);
      }
    }
    const [row] = await t.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE username_canonical = $1`, [base]);
    expect(row).toEqual({ n: 1 });
  });

  it('the username shown is the spelling chosen (NFKC), not the canonical form', async () => {
    const chosen = `T\u0130m_Straße_${randomUUID().slice(0, 6)}`;
    const reg = await t.http.post('/api/auth/register/', {
      username: chosen,
      email: `c_${randomUUID().slice(0, 8)}@example.org`,
      password: PASSWORD,
    });
    expect(reg.status).toBe(201);
    expect(reg.body.username).toBe(chosen);
    const res = await login(chosen.toLowerCase().replace('ß', 'SS'));
    expect(res.status).toBe(200);
    const me = await t.http.get('/api/auth/me/', { token: res.body.access });
    expect(me.body.username).toBe(chosen);
  });
});

describe('Password change spends the same lockout as login (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ LOGIN_FAILURE_LIMIT: '5', LOGIN_FAILURE_WINDOW: '900' });
  });
  afterAll(() => t?.close());

  it('20 wrong old passwords lock the account: then neither a guess, the right old password nor a login gets through', async () => {
    const user = await createUser(t.http);
    const change = (oldPassword: string) =>
      t.http.post('/api/auth/password/', { old_password: oldPassword, new_password: 'Fresh-Granite-Meadow-77' }, { token: user.access });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await change(`${WRONG}-${i}`)).status);
    expect(statuses).toEqual([...Array(5).fill(400), ...Array(15).fill(429)]);

    expectLocked(await change(PASSWORD));
    expectLocked(await t.http.post('/api/auth/login/', { username: user.username.toUpperCase(), password: PASSWORD }));
    // Nothing changed: the old password is still the one stored.
    const [row] = await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'password_changed' AND status = 204 AND resource_id = $1`, [user.id]);
    expect(row).toEqual({ n: 0 });
  });

  it('failed logins lock the password change too', async () => {
    const user = await createUser(t.http);
    for (let i = 0; i < 5; i++) {
      expectProblem(await t.http.post('/api/auth/login/', { username: user.username, password: WRONG }), 401);
    }
    expectLocked(
      await t.http.post('/api/auth/password/', { old_password: PASSWORD, new_password: 'Fresh-Granite-Meadow-77' }, { token: user.access }),
    );
  });
});

describe('One user cannot take the password hashing from others (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The test app's lockout limits are lifted: this is about the hashing slots alone.
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it("a user's parallel password changes are refused past a small share, while another user's login succeeds", async () => {
    const [greedy, other] = [await createUser(t.http), await createUser(t.http)];
    const flood = Array.from({ length: 30 }, (_, i) =>
      t.http.post('/api/auth/password/', { old_password: `${WRONG}-${i}`, new_password: 'Fresh-Granite-Meadow-77' }, { token: greedy.access }),
    );
    const otherLogin = t.http.post('/api/auth/login/', { username: other.username, password: PASSWORD });
    const [answers, login] = await Promise.all([Promise.all(flood), otherLogin]);

    expect(login.status).toBe(200);
    const statuses = answers.map((res) => res.status);
    // Every one a 400 (checked, wrong) or a 429 (refused before hashing), never a 5xx.
    expect(statuses.filter((s) => s !== 400 && s !== 429)).toEqual([]);
    const refused = answers.filter((res) => res.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    for (const res of refused) {
      expectProblem(res, 429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  });
});
