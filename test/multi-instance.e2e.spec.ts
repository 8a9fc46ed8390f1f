import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { REVOKED_CHANNEL } from '../src/auth/session-revocations.js';
import { SESSION_CACHE_MS } from '../src/auth/sessions.service.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { createUser, PASSWORD } from './utils/factories.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** Polls `probe` every 5 ms until it returns true or `limitMs` have passed; when it first returned true (performance.now()), or null. */
async function whenTrue(probe: () => Promise<boolean>, limitMs: number): Promise<number | null> {
  const start = performance.now();
  while (performance.now() - start < limitMs) {
    if (await probe()) return performance.now();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return null;
}

// On either database: what an instance announces when sessions end, as another instance's subscriber receives it.
describe('Ended sessions are announced on Redis (e2e)', () => {
  let t: TestApp;
  let listener: Redis;
  const heard: string[][] = [];

  beforeAll(async () => {
    t = await createTestApp({ REDIS_URL });
    listener = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    listener.on('message', (_channel: string, message: string) => heard.push(JSON.parse(message)));
    await listener.subscribe(REVOKED_CHANNEL);
  });
  afterAll(async () => {
    listener?.disconnect();
    await t?.close();
  });

  it('logout-all announces every session of the user it ended, and the token is refused at once', async () => {
    const user = await createUser(t.http);
    const second = await t.http.post('/api/auth/login/', { username: user.username, password: PASSWORD });
    expect(second.status).toBe(200);
    const [{ ids }] = await t.dataSource.query(`SELECT array_agg(id::text ORDER BY id) AS ids FROM sessions WHERE user_id = $1`, [user.id]);
    expect(ids).toHaveLength(2);
    expect((await t.http.post('/api/auth/logout-all/', undefined, { token: user.access })).status).toBe(204);
    expect((await t.http.get('/api/auth/me/', { token: second.body.access })).status).toBe(401);
    const announced = await whenTrue(async () => heard.some((h) => [...h].sort().join() === ids.join()), 2000);
    expect(announced).not.toBeNull();
  });
});

// Two instances of the API on one PostgreSQL and one Redis (issue 13, "Stateless instances"). PGlite is one
// process's database: there is no second instance to share it with, so this exists where TEST_DATABASE_URL is set.
if (process.env.TEST_DATABASE_URL) {
describe('Several instances: a session ended on one ends on the other at once (e2e, PostgreSQL and Redis)', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await createTestApp({ REDIS_URL });
    // The second instance on the first one's database.
    b = await createTestApp({ REDIS_URL, DATABASE_URL: a.db.env.DATABASE_URL });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const me = (t: TestApp, token: string) => t.http.get('/api/auth/me/', { token }).then((r) => r.status);

  it.each([
    ['logout', async (t: TestApp, user: { access: string; refresh: string }) => t.http.post('/api/auth/logout/', { refresh: user.refresh })],
    ['logout-all', async (t: TestApp, user: { access: string }) => t.http.post('/api/auth/logout-all/', undefined, { token: user.access })],
    [
      'a password change',
      async (t: TestApp, user: { access: string }) =>
        t.http.post('/api/auth/password/', { old_password: PASSWORD, new_password: 'Other-Harbour-Lantern-43' }, { token: user.access }),
    ],
  ])('%s on one instance: the other refuses the access token at once, not when its cached check of it expires', async (_label, end) => {
    const user = await createUser(a.http);
    // Instance B checks the token and caches that check for SESSION_CACHE_MS.
    expect(await me(b, user.access)).toBe(200);
    const checked = performance.now();
    expect((await end(a, user)).status).toBe(204);
    const refused = await whenTrue(async () => (await me(b, user.access)) === 401, SESSION_CACHE_MS);
    // Refused while B's cached "live" would still have been trusted for a long while (half its lifetime left, a margin no
    // scheduling delay of pub/sub comes near): the announcement, not the expiry, ended it.
    expect(refused).not.toBeNull();
    expect(refused! - checked).toBeLessThan(SESSION_CACHE_MS / 2);
  });
});
}
