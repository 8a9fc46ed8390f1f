import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { createAdmin, createDoctor, createPatient, createUser, type TestUser } from './utils/factories.js';
import type { HttpResponse } from './utils/http.js';
import { expectProblem } from './utils/problem.js';

interface Page {
  next: string | null;
  previous: string | null;
  results: Array<{ id?: string; seq?: string }>;
}

const ROWS = 6;
const PAGE = 4;

/**
 * The contract every list shares, run once over each list endpoint: the
 * envelope, links that walk every row once in both directions, page_size and
 * cursor validation, and cursors that work for their own caller only (issue
 * 11, item 6). Each list's filters and orderings are tested in its feature's spec.
 */
describe('Pagination contract (e2e)', () => {
  let t: TestApp;
  /** Owns the rows each list shows. */
  let owner: TestUser;
  let other: TestUser;
  let admin: TestUser;
  let otherAdmin: TestUser;
  let patientId: string;
  const tag = `pg${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    t = await createTestApp();
    owner = await createUser(t.http, { username: `user_${tag}_owner` });
    other = await createUser(t.http);
    admin = await createAdmin(t);
    otherAdmin = await createAdmin(t);
    for (let i = 0; i < ROWS; i++) {
      const p = await createPatient(t.http, owner.access, { name: `${tag} patient ${i}` });
      const d = await createDoctor(t.http, owner.access, { name: `Dr ${tag} ${i}` });
      if (i === 0) patientId = p.id;
      await t.http.post('/api/mappings/', { patient: patientId, doctor: d.id }, { token: owner.access });
    }
    // More users whose names carry the tag: the admin user list's rows.
    for (let i = 1; i < ROWS; i++) await createUser(t.http, { username: `user_${tag}_${i}` });
  }, 120_000);
  afterAll(() => t?.close());

  type Who = 'owner' | 'admin';
  const lists: Array<[string, () => string, Who]> = [
    ['patients', () => `/api/patients/?search=${tag}`, 'owner'],
    ['doctors', () => `/api/doctors/?search=${tag}`, 'owner'],
    ['mappings', () => '/api/mappings/', 'owner'],
    ["a patient's doctors", () => `/api/mappings/${patientId}/`, 'owner'],
    ['admin patients', () => `/api/admin/patients/?owner=${owner.id}`, 'admin'],
    ['admin mappings', () => `/api/admin/mappings/?owner=${owner.id}`, 'admin'],
    ['admin users', () => `/api/admin/users/?search=${tag}`, 'admin'],
    ['audit events', () => `/api/admin/audit-events/?actor=${owner.id}&action=create&resource_type=patient`, 'admin'],
  ];

  const token = (who: Who) => (who === 'admin' ? admin.access : owner.access);
  /** Someone else of the same standing: another user, or another admin. */
  const stranger = (who: Who) => (who === 'admin' ? otherAdmin.access : other.access);
  const key = (row: Page['results'][number]) => row.id ?? row.seq;
  const withQuery = (path: string, query: Record<string, string>) =>
    `${path}${path.includes('?') ? '&' : '?'}${new URLSearchParams(query)}`;
  const local = (url: string) => {
    const parsed = new URL(url);
    expect(parsed.origin).toBe(t.baseUrl);
    return `${parsed.pathname}${parsed.search}`;
  };
  async function get(path: string, who: string): Promise<HttpResponse<Page>> {
    return t.http.get<Page>(path, { token: who });
  }

  describe.each(lists)('%s', (name, path, who) => {
    it('is {next, previous, results}; the next link is absolute, keeps the query and carries a URL-safe cursor', async () => {
      const res = await get(withQuery(path(), { page_size: String(PAGE) }), token(who));
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['next', 'previous', 'results']);
      expect(res.body.results).toHaveLength(PAGE);
      expect(res.body.previous).toBeNull();
      const next = new URL(res.body.next!);
      expect(next.origin).toBe(t.baseUrl);
      expect(next.searchParams.get('page_size')).toBe(String(PAGE));
      expect(next.searchParams.get('cursor')).toMatch(/^[A-Za-z0-9_-]+$/);
    });

    it('following next visits every row once, in order; previous walks back the same page', async () => {
      const whole = await get(withQuery(path(), { page_size: '100' }), token(who));
      expect(whole.body.results).toHaveLength(ROWS);
      expect(whole.body.next).toBeNull();
      const first = await get(withQuery(path(), { page_size: String(PAGE) }), token(who));
      const second = await get(local(first.body.next!), token(who));
      expect(second.status).toBe(200);
      expect(second.body.next).toBeNull();
      expect([...first.body.results, ...second.body.results].map(key)).toEqual(whole.body.results.map(key));
      const back = await get(local(second.body.previous!), token(who));
      expect(back.body.results.map(key)).toEqual(first.body.results.map(key));
      expect(back.body.previous).toBeNull();
    });

    it.each(['0', '-1', 'abc', '1.5'])('page_size=%j is 400', async (size) => {
      expectProblem(await get(withQuery(path(), { page_size: size }), token(who)), 400, ['page_size']);
    });

    it('page_size above 100 is capped, not refused', async () => {
      const res = await get(withQuery(path(), { page_size: '1000' }), token(who));
      expect(res.status).toBe(200);
      expect(res.body.results).toHaveLength(ROWS);
    });

    it('a malformed or changed cursor is 400', async () => {
      const first = await get(withQuery(path(), { page_size: String(PAGE) }), token(who));
      const cursor = new URL(first.body.next!).searchParams.get('cursor')!;
      const changed = cursor.slice(0, 3) + (cursor[3] === 'A' ? 'B' : 'A') + cursor.slice(4);
      expectProblem(await get(withQuery(path(), { cursor: 'garbage' }), token(who)), 400, ['cursor']);
      expectProblem(await get(withQuery(path(), { cursor: changed }), token(who)), 400, ['cursor']);
    });

    it('someone else’s cursor is 400, even with the same list and query (issue 11, item 6)', async () => {
      const first = await get(withQuery(path(), { page_size: String(PAGE) }), token(who));
      const next = local(first.body.next!);
      expect((await get(next, token(who))).status).toBe(200);
      // A patient's doctors are 404 for another user (not theirs): an admin, who may see them, replays instead.
      expectProblem(await get(next, name === "a patient's doctors" ? admin.access : stranger(who)), 400, ['cursor']);
    });
  });

  it("an admin's cursor does not work for a user on the same list, nor a user's for an admin", async () => {
    const adminFirst = await get(`/api/patients/?search=${tag}&page_size=2`, admin.access);
    const userFirst = await get(`/api/patients/?search=${tag}&page_size=2`, owner.access);
    expectProblem(await get(local(adminFirst.body.next!), owner.access), 400, ['cursor']);
    expectProblem(await get(local(userFirst.body.next!), admin.access), 400, ['cursor']);
  });
});
