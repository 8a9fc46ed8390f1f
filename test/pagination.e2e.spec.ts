import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { createAdmin, createDoctor, createPatient, createUser, type TestUser } from './utils/factories.js';
import type { HttpResponse } from './utils/http.js';
import { type Page as RowPage, paging } from './utils/paging.js';
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

  /**
   * page_size and cursor rules in depth, on one list with more than a page
   * of rows (moved here from the old lists spec): the same code serves
   * every list, which the describe.each above runs over.
   */
  describe('page_size and cursors in depth (the patient list, 130 rows)', () => {
    /** 130 patients inserted in one statement. */
    let bulk: TestUser;
    const bulkCount = 130;
    const { follow } = paging(() => t);

    beforeAll(async () => {
      bulk = await createUser(t.http);
      await t.dataSource.query(
        `INSERT INTO patients (owner_id, name, age, gender)
         SELECT $1, 'Bulk ' || lpad(g::text, 3, '0'), g % 151, 'other' FROM generate_series(1, $2::int) AS g`,
        [bulk.id, bulkCount],
      );
    });

    it('an empty list has no links', async () => {
      const res = await t.http.get('/api/patients/?search=no-such-patient-anywhere', { token: bulk.access });
      expect(res.body).toEqual({ next: null, previous: null, results: [] });
    });

    describe('page_size', () => {
      it('defaults to 20', async () => {
        const res = await t.http.get<RowPage>('/api/patients/', { token: bulk.access });
        expect(res.body.results).toHaveLength(20);
        expect(res.body.next).not.toBeNull();
        const second = await follow(res.body.next!, bulk.access);
        expect(second.body.results).toHaveLength(20);
      });

      it.each([
        ['100', '100'],
        ['101', '101'],
        ['1000', '1000'],
        ['11 digits', '99999999999'],
        ['400 digits', '9'.repeat(400)],
      ])('page_size=%s gives 100', async (_label, size) => {
        const res = await t.http.get<RowPage>(`/api/patients/?page_size=${size}`, { token: bulk.access });
        expect(res.status).toBe(200);
        expect(res.body.results).toHaveLength(100);
        expect(res.body.next).not.toBeNull();
      });

      it('page_size=1 works', async () => {
        const res = await t.http.get<RowPage>('/api/patients/?page_size=1', { token: bulk.access });
        expect(res.body.results).toHaveLength(1);
      });

      it.each(['0', '-1', 'abc', '1.5', '', '1e2', '0x10', ' 5'])('page_size=%j is 400', async (size) => {
        const q = new URLSearchParams({ page_size: size });
        expectProblem(await t.http.get(`/api/patients/?${q}`, { token: bulk.access }), 400, ['page_size']);
        expectProblem(await t.http.get(`/api/doctors/?${q}`, { token: bulk.access }), 400, ['page_size']);
      });

      it('a repeated page_size is 400', async () => {
        expectProblem(await t.http.get('/api/patients/?page_size=5&page_size=6', { token: bulk.access }), 400, [
          'page_size',
        ]);
      });
    });

    describe('cursors', () => {
      let cursor: string;
      let nextUrl: URL;

      beforeAll(async () => {
        const res = await t.http.get<RowPage>('/api/patients/?page_size=5&ordering=name', { token: bulk.access });
        nextUrl = new URL(res.body.next!);
        cursor = nextUrl.searchParams.get('cursor')!;
      });

      const withCursor = (c: string, ordering: string | null = 'name') => {
        const q = new URLSearchParams({ page_size: '5', cursor: c });
        if (ordering !== null) q.set('ordering', ordering);
        return t.http.get(`/api/patients/?${q}`, { token: bulk.access });
      };
      const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);

      it('the cursor itself works', async () => {
        const res = await withCursor(cursor);
        expect(res.status).toBe(200);
        expect(res.body.results).toHaveLength(5);
      });

      it.each(['garbage', 'a.b.c', '.', 'abc.', '.abc', '!!!.???', 'x'.repeat(1001)])(
        'a malformed cursor %j is 400',
        async (bad) => {
          expectProblem(await withCursor(bad), 400, ['cursor']);
        },
      );

      it('a cursor with any character changed is 400', async () => {
        for (const i of [0, 5, Math.floor(cursor.length / 2), cursor.length - 1]) {
          expectProblem(await withCursor(flip(cursor, i)), 400, ['cursor']);
        }
        expectProblem(await withCursor(cursor.slice(1)), 400, ['cursor']);
        expectProblem(await withCursor(cursor.slice(0, -1)), 400, ['cursor']);
      });

      it('a cursor does not reveal the patient data it points at', async () => {
        // The cursor points at the last row of the first page: its name must not be readable from the link.
        const first = await t.http.get<RowPage>('/api/patients/?page_size=5&ordering=name', { token: bulk.access });
        const decoded = Buffer.from(cursor, 'base64url').toString('latin1');
        const names = (first.body.results as Array<{ name: string }>).map((r) => r.name);
        expect(names).toHaveLength(5);
        for (const name of names) expect(decoded).not.toContain(name);
        expect(decoded).not.toMatch(/"v":|"i":/);
      });

      it('a patients cursor does not work on the doctors list', async () => {
        const res = await t.http.get(`/api/doctors/?page_size=5&ordering=name&cursor=${cursor}`, { token: bulk.access });
        expectProblem(res, 400, ['cursor']);
      });

      it('a cursor used with another ordering is 400', async () => {
        expectProblem(await withCursor(cursor, 'age'), 400, ['cursor']);
        expectProblem(await withCursor(cursor, '-name'), 400, ['cursor']);
        expectProblem(await withCursor(cursor, null), 400, ['cursor']);
      });
    });
  });
});
