import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SESSION_CACHE_MS } from '../src/auth/sessions.service.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { createUser, PASSWORD, type TestUser } from './utils/factories.js';
import { expectProblem } from './utils/problem.js';

/** Issue 11 item 8: two refreshes of one token at once must not log the user out. */

const sidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')).sid as string;

describe('Refresh token grace after rotation (e2e)', () => {
  let t: TestApp;
  let user: TestUser;
  beforeAll(async () => {
    t = await createTestApp({ JWT_REFRESH_GRACE: '30' });
    user = await createUser(t.http);
  });
  afterAll(() => t?.close());

  const login = async () => {
    const res = await t.http.post('/api/auth/login/', { username: user.username, password: PASSWORD });
    expect(res.status).toBe(200);
    return res.body as { access: string; refresh: string };
  };
  const refresh = (token: string) => t.http.post('/api/auth/refresh/', { refresh: token });
  const me = (token: string) => t.http.get('/api/auth/me/', { token });
  /** Moves the session's last rotation back past any grace, as if the time had passed. */
  const pastTheGrace = (token: string) =>
    t.dataSource.query(`UPDATE sessions SET rotated_at = rotated_at - interval '1 hour' WHERE id = $1`, [sidOf(token)]);

  /** Polls until the access token stops working, within the session cache time. */
  async function expectAccessEnds(token: string): Promise<void> {
    const deadline = Date.now() + SESSION_CACHE_MS + 3000;
    let res = await me(token);
    while (res.status === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      res = await me(token);
    }
    expectProblem(res, 401);
  }

  it('five parallel refreshes of one token all get 200 and the same new refresh token; the session lives on', async () => {
    const pair = await login();
    const answers = await Promise.all(Array.from({ length: 5 }, () => refresh(pair.refresh)));
    expect(answers.map((res) => res.status)).toEqual([200, 200, 200, 200, 200]);
    const successors = new Set(answers.map((res) => res.body.refresh as string));
    expect(successors.size).toBe(1);
    const [successor] = successors;
    expect(successor).not.toBe(pair.refresh);
    for (const res of answers) {
      expect(sidOf(res.body.access)).toBe(sidOf(pair.refresh));
      expect((await me(res.body.access)).status).toBe(200);
    }
    // The pair works: it rotates on, and the new access token is accepted.
    const next = await refresh(successor);
    expect(next.status).toBe(200);
    expect((await me(next.body.access)).status).toBe(200);
  });

  it('a retry after a lost response gets the same successor, which still rotates', async () => {
    const pair = await login();
    const first = await refresh(pair.refresh);
    const retry = await refresh(pair.refresh);
    expect([first.status, retry.status]).toEqual([200, 200]);
    expect(retry.body.refresh).toBe(first.body.refresh);
    expect((await refresh(retry.body.refresh)).status).toBe(200);
  });

  it('after the grace, presenting the rotated token again is reuse: the whole session ends', async () => {
    const pair = await login();
    const rotated = await refresh(pair.refresh);
    expect(rotated.status).toBe(200);
    await pastTheGrace(pair.refresh);

    const reuse = await refresh(pair.refresh);
    expectProblem(reuse, 401);
    expect(reuse.body.detail).toMatch(/already used/);
    expectProblem(await refresh(rotated.body.refresh), 401);
    await expectAccessEnds(rotated.body.access);
  });

  it('the grace covers only the token just rotated: one two rotations old is reuse at once', async () => {
    const pair = await login();
    const second = await refresh(pair.refresh);
    const third = await refresh(second.body.refresh);
    expect([second.status, third.status]).toEqual([200, 200]);

    expectProblem(await refresh(pair.refresh), 401);
    expectProblem(await refresh(third.body.refresh), 401);
    await expectAccessEnds(third.body.access);
  });

  it('a logged-out session gets nothing within the grace either', async () => {
    const pair = await login();
    const rotated = await refresh(pair.refresh);
    expect((await t.http.post('/api/auth/logout/', { refresh: rotated.body.refresh })).status).toBe(204);
    expectProblem(await refresh(pair.refresh), 401);
  });
});
