// Past 250 lines for now: the patient and doctor filters and orderings below still wait to move into test/patients.e2e.spec.ts and test/doctors.e2e.spec.ts (the generic contract now lives in test/pagination.e2e.spec.ts).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildPatient, createDoctor, createPatient, createUser, createAdmin, type TestUser } from './utils/factories.js';
import type { HttpResponse } from './utils/http.js';
import { expectProblem } from './utils/problem.js';

interface Row {
  id: string;
  name: string;
  created_at: string;
  [key: string]: unknown;
}
interface Page {
  next: string | null;
  previous: string | null;
  results: Row[];
}

/** Registers a user, promotes it, and only then logs in (the guard caches sessions briefly). */

const ids = (rows: Row[]) => rows.map((r) => r.id);

describe('Lists: pagination, filters, ordering (e2e)', () => {
  let t: TestApp;
  /** 25 patients created over HTTP, for walking pages. */
  let alice: TestUser;
  /** A few patients with chosen names and ages, for filters. */
  let bob: TestUser;
  /** 130 patients inserted in one statement (they share created_at), for page sizes. */
  let carol: TestUser;
  let admin: TestUser;
  let walkPatients: Row[];
  const bulkCount = 130;

  /** GETs a next/previous link, which must be an absolute URL on this server. */
  async function follow(url: string, token: string): Promise<HttpResponse<Page>> {
    const parsed = new URL(url);
    expect(parsed.origin).toBe(t.baseUrl);
    const res = await t.http.get<Page>(`${parsed.pathname}${parsed.search}`, { token });
    expect(res.status).toBe(200);
    return res;
  }

  /** Follows next from the first page of `path`, returning every page. */
  async function walkForward(path: string, token: string): Promise<Page[]> {
    const first = await t.http.get<Page>(path, { token });
    expect(first.status).toBe(200);
    const pages = [first.body];
    while (pages[pages.length - 1].next) pages.push((await follow(pages[pages.length - 1].next!, token)).body);
    return pages;
  }

  /** Follows previous from `last`, returning the pages met, `last` excluded, nearest first. */
  async function walkBackward(last: Page, token: string): Promise<Page[]> {
    const pages: Page[] = [];
    let url = last.previous;
    while (url) {
      const page = (await follow(url, token)).body;
      pages.push(page);
      url = page.previous;
    }
    return pages;
  }

  /**
   * The contract of a cursor list: following next visits every row of the
   * one-page answer exactly once and in the same order, and following
   * previous from the last page gives the same pages back in reverse.
   */
  async function expectConsistentPaging(path: string, token: string, pageSize: number, total: number): Promise<Row[]> {
    const sep = path.includes('?') ? '&' : '?';
    const whole = await t.http.get<Page>(`${path}${sep}page_size=100`, { token });
    expect(whole.status).toBe(200);
    expect(whole.body.results).toHaveLength(total);
    expect(whole.body.next).toBeNull();
    expect(whole.body.previous).toBeNull();

    const forward = await walkForward(`${path}${sep}page_size=${pageSize}`, token);
    const visited = forward.flatMap((p) => p.results);
    expect(ids(visited)).toEqual(ids(whole.body.results));
    expect(new Set(ids(visited)).size).toBe(total);
    expect(forward.map((p) => p.results.length)).toEqual(
      Array.from({ length: Math.ceil(total / pageSize) }, (_, i) => Math.min(pageSize, total - i * pageSize)),
    );
    expect(forward[0].previous).toBeNull();
    expect(forward[forward.length - 1].next).toBeNull();
    for (const page of forward.slice(1)) expect(page.previous).not.toBeNull();
    for (const page of forward.slice(0, -1)) expect(page.next).not.toBeNull();

    const backward = await walkBackward(forward[forward.length - 1], token);
    expect(backward.map((p) => ids(p.results))).toEqual(
      forward
        .slice(0, -1)
        .reverse()
        .map((p) => ids(p.results)),
    );
    if (backward.length > 0) {
      // A page reached backwards links forward to the page after it.
      const again = (await follow(backward[0].next!, token)).body;
      expect(ids(again.results)).toEqual(ids(forward[forward.length - 1].results));
    }
    return whole.body.results;
  }

  beforeAll(async () => {
    t = await createTestApp();
    alice = await createUser(t.http);
    bob = await createUser(t.http);
    carol = await createUser(t.http);
    admin = await createAdmin(t);

    walkPatients = [];
    for (let i = 1; i <= 25; i++) {
      // Ages repeat, so orderings by age have ties that only the id breaks.
      const p = await createPatient(t.http, alice.access, { name: `Walk ${String(i).padStart(2, '0')}`, age: i % 4 });
      walkPatients.push(p as unknown as Row);
    }

    await t.dataSource.query(
      `INSERT INTO patients (owner_id, name, age, gender)
       SELECT $1, 'Bulk ' || lpad(g::text, 3, '0'), g % 151, 'other' FROM generate_series(1, $2::int) AS g`,
      [carol.id, bulkCount],
    );
    // Four logins (argon2) and 25 creates: give a loaded machine room.
  }, 60_000);
  afterAll(() => t?.close());

  describe('envelope and links', () => {
    it('a list is {next, previous, results}; next is an absolute URL keeping the query', async () => {
      const res = await t.http.get<Page>('/api/patients/?page_size=7&min_age=0', { token: alice.access });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['next', 'previous', 'results']);
      expect(res.body.previous).toBeNull();
      const next = new URL(res.body.next!);
      expect(next.origin).toBe(t.baseUrl);
      expect(next.pathname).toBe('/api/patients/');
      expect(next.searchParams.get('page_size')).toBe('7');
      expect(next.searchParams.get('min_age')).toBe('0');
      expect(next.searchParams.get('cursor')).toMatch(/^[A-Za-z0-9_-]+$/);
    });

    it('an empty list has no links', async () => {
      const res = await t.http.get('/api/patients/?search=no-such-patient-anywhere', { token: alice.access });
      expect(res.body).toEqual({ next: null, previous: null, results: [] });
    });
  });

  describe('walking pages', () => {
    it('default order is newest first, and following next visits every row exactly once', async () => {
      const rows = await expectConsistentPaging('/api/patients/', alice.access, 7, 25);
      expect(new Set(ids(rows))).toEqual(new Set(ids(walkPatients)));
      for (let i = 1; i < rows.length; i++) {
        expect(Date.parse(rows[i - 1].created_at)).toBeGreaterThanOrEqual(Date.parse(rows[i].created_at));
      }
      // The last one created comes first (unless it shares its millisecond with another).
      const newest = walkPatients.filter((p) => p.created_at === walkPatients[walkPatients.length - 1].created_at);
      expect(ids(newest)).toContain(rows[0].id);
    });

    it.each(['created_at', '-created_at', 'name', '-name', 'age', '-age'])(
      'patients ordered by %s page consistently in both directions',
      async (ordering) => {
        const rows = await expectConsistentPaging(`/api/patients/?ordering=${ordering}`, alice.access, 7, 25);
        const sign = ordering.startsWith('-') ? -1 : 1;
        const field = ordering.replace('-', '');
        for (let i = 1; i < rows.length; i++) {
          const [a, b] = [rows[i - 1], rows[i]];
          const cmp =
            field === 'age'
              ? (a.age as number) - (b.age as number)
              : field === 'created_at'
                ? Date.parse(a.created_at) - Date.parse(b.created_at)
                : a.name.localeCompare(b.name);
          expect(sign * cmp).toBeLessThanOrEqual(0);
          // Ties are broken by id, in the same direction.
          if (cmp === 0) expect(sign * (a.id < b.id ? -1 : 1)).toBe(-1);
        }
      },
    );

    it('rows that share created_at (one INSERT) are each visited exactly once', async () => {
      const forward = await walkForward('/api/patients/?page_size=100', carol.access);
      expect(forward.map((p) => p.results.length)).toEqual([100, bulkCount - 100]);
      const visited = ids(forward.flatMap((p) => p.results));
      expect(new Set(visited).size).toBe(bulkCount);
      const stored = (await t.dataSource.query('SELECT id FROM patients WHERE owner_id = $1', [carol.id])) as {
        id: string;
      }[];
      expect(new Set(visited)).toEqual(new Set(stored.map((r) => r.id)));

      const small = await walkForward('/api/patients/?page_size=13&ordering=created_at', carol.access);
      expect(new Set(ids(small.flatMap((p) => p.results))).size).toBe(bulkCount);
      const back = await walkBackward(small[small.length - 1], carol.access);
      expect(back.map((p) => ids(p.results))).toEqual(
        small
          .slice(0, -1)
          .reverse()
          .map((p) => ids(p.results)),
      );
    });

    it.each(['name', '-specialization', 'specialization', 'created_at', '-created_at'])(
      'doctors ordered by %s page consistently (filters kept in the links)',
      async (ordering) => {
        const tag = `walk${randomUUID().slice(0, 8)}`;
        const specializations = ['Cardiology', 'Oncology', 'Neurology'];
        for (let i = 0; i < 16; i++) {
          await createDoctor(t.http, alice.access, { name: `Dr ${tag} ${i}`, specialization: specializations[i % 3] });
        }
        await createDoctor(t.http, alice.access); // not matched by the search
        const rows = await expectConsistentPaging(`/api/doctors/?search=${tag}&ordering=${ordering}`, bob.access, 5, 16);
        expect(rows.every((r) => r.name.includes(tag))).toBe(true);
      },
    );
  });

  describe('page_size', () => {
    it('defaults to 20', async () => {
      const res = await t.http.get<Page>('/api/patients/', { token: carol.access });
      expect(res.body.results).toHaveLength(20);
      expect(res.body.next).not.toBeNull();
      const second = await follow(res.body.next!, carol.access);
      expect(second.body.results).toHaveLength(20);
    });

    it.each([
      ['100', '100'],
      ['101', '101'],
      ['1000', '1000'],
      ['11 digits', '99999999999'],
      ['400 digits', '9'.repeat(400)],
    ])('page_size=%s gives 100', async (_label, size) => {
      const res = await t.http.get<Page>(`/api/patients/?page_size=${size}`, { token: carol.access });
      expect(res.status).toBe(200);
      expect(res.body.results).toHaveLength(100);
      expect(res.body.next).not.toBeNull();
    });

    it('page_size=1 works', async () => {
      const res = await t.http.get<Page>('/api/patients/?page_size=1', { token: carol.access });
      expect(res.body.results).toHaveLength(1);
    });

    it.each(['0', '-1', 'abc', '1.5', '', '1e2', '0x10', ' 5'])('page_size=%j is 400', async (size) => {
      const q = new URLSearchParams({ page_size: size });
      expectProblem(await t.http.get(`/api/patients/?${q}`, { token: alice.access }), 400, ['page_size']);
      expectProblem(await t.http.get(`/api/doctors/?${q}`, { token: alice.access }), 400, ['page_size']);
    });

    it('a repeated page_size is 400', async () => {
      expectProblem(await t.http.get('/api/patients/?page_size=5&page_size=6', { token: alice.access }), 400, [
        'page_size',
      ]);
    });
  });

  describe('cursors', () => {
    let cursor: string;
    let nextUrl: URL;

    beforeAll(async () => {
      const res = await t.http.get<Page>('/api/patients/?page_size=5&ordering=name', { token: alice.access });
      nextUrl = new URL(res.body.next!);
      cursor = nextUrl.searchParams.get('cursor')!;
    });

    const withCursor = (c: string, ordering: string | null = 'name') => {
      const q = new URLSearchParams({ page_size: '5', cursor: c });
      if (ordering !== null) q.set('ordering', ordering);
      return t.http.get(`/api/patients/?${q}`, { token: alice.access });
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
      const first = await t.http.get<Page>('/api/patients/?page_size=5&ordering=name', { token: alice.access });
      const decoded = Buffer.from(cursor, 'base64url').toString('latin1');
      const names = (first.body.results as Array<{ name: string }>).map((r) => r.name);
      expect(names).toHaveLength(5);
      for (const name of names) expect(decoded).not.toContain(name);
      expect(decoded).not.toMatch(/"v":|"i":/);
    });

    it('a patients cursor does not work on the doctors list', async () => {
      const res = await t.http.get(`/api/doctors/?page_size=5&ordering=name&cursor=${cursor}`, { token: alice.access });
      expectProblem(res, 400, ['cursor']);
    });

    it('a cursor used with another ordering is 400', async () => {
      expectProblem(await withCursor(cursor, 'age'), 400, ['cursor']);
      expectProblem(await withCursor(cursor, '-name'), 400, ['cursor']);
      expectProblem(await withCursor(cursor, null), 400, ['cursor']);
    });

    it('a doctors cursor is checked the same way', async () => {
      const tag = `cur${randomUUID().slice(0, 8)}`;
      for (let i = 0; i < 3; i++) await createDoctor(t.http, alice.access, { name: `Dr ${tag} ${i}` });
      const first = await t.http.get<Page>(`/api/doctors/?search=${tag}&page_size=1&ordering=name`, {
        token: bob.access,
      });
      const c = new URL(first.body.next!).searchParams.get('cursor')!;
      const get = (cur: string, ordering: string) =>
        t.http.get(`/api/doctors/?search=${tag}&page_size=1&ordering=${ordering}&cursor=${cur}`, { token: bob.access });
      expect((await get(c, 'name')).status).toBe(200);
      expectProblem(await get(flip(c, 3), 'name'), 400, ['cursor']);
      expectProblem(await get(c, 'specialization'), 400, ['cursor']);
    });
  });

  describe('ordering allow-list', () => {
    it.each(['gender', 'address', 'owner_id', 'id', '-', '--name', 'name,age', 'NAME', ' name', 'updated_at'])(
      'patients ordering=%j is 400',
      async (ordering) => {
        const q = new URLSearchParams({ ordering });
        expectProblem(await t.http.get(`/api/patients/?${q}`, { token: alice.access }), 400, ['ordering']);
      },
    );

    it.each(['age', 'email', 'phone', 'created_by', '-age', 'specialisation'])(
      'doctors ordering=%j is 400',
      async (ordering) => {
        const q = new URLSearchParams({ ordering });
        expectProblem(await t.http.get(`/api/doctors/?${q}`, { token: alice.access }), 400, ['ordering']);
      },
    );

    it.each(['name', '-name', 'created_at', '-created_at', 'age', '-age'])('patients ordering=%s is 200', async (o) => {
      expect((await t.http.get(`/api/patients/?ordering=${o}`, { token: alice.access })).status).toBe(200);
    });
  });

  describe('patient filters', () => {
    const names: Record<string, string> = {};

    beforeAll(async () => {
      const rows: [string, number, string][] = [
        ['Ann Smith', 30, 'female'],
        ['ANNA Jones', 40, 'male'],
        ['Joanne Roe', 50, 'other'],
        ['100% Pure', 20, 'unknown'],
        ['snake_case', 60, 'female'],
        ['snakeXcase', 61, 'female'],
        ['back\\slash', 45, 'male'],
        ['Newborn', 0, 'male'],
        ['Eldest', 150, 'female'],
      ];
      for (const [name, age, gender] of rows) {
        const p = await createPatient(t.http, bob.access, { name, age, gender });
        names[p.id] = name;
      }
    });

    const search = async (query: Record<string, string>) => {
      const res = await t.http.get<Page>(`/api/patients/?${new URLSearchParams({ ...query, page_size: '100' })}`, {
        token: bob.access,
      });
      expect(res.status).toBe(200);
      return res.body.results.map((r) => r.name).sort();
    };

    it('search is a case-insensitive substring of the name', async () => {
      expect(await search({ search: 'ann' })).toEqual(['ANNA Jones', 'Ann Smith', 'Joanne Roe'].sort());
      expect(await search({ search: 'SMITH' })).toEqual(['Ann Smith']);
      expect(await search({ search: 'nobody' })).toEqual([]);
    });

    it('search matches %, _ and \\ literally', async () => {
      expect(await search({ search: '100%' })).toEqual(['100% Pure']);
      expect(await search({ search: 'snake_' })).toEqual(['snake_case']);
      expect(await search({ search: 'ake_c' })).toEqual(['snake_case']);
      expect(await search({ search: 'back\\' })).toEqual(['back\\slash']);
    });

    it('gender filters exactly, in any case', async () => {
      expect(await search({ gender: 'male' })).toEqual(['ANNA Jones', 'Newborn', 'back\\slash'].sort());
      expect(await search({ gender: 'FEMALE' })).toEqual(['Ann Smith', 'Eldest', 'snakeXcase', 'snake_case'].sort());
    });

    it('min_age and max_age are inclusive', async () => {
      expect(await search({ min_age: '40', max_age: '50' })).toEqual(['ANNA Jones', 'Joanne Roe', 'back\\slash'].sort());
      expect(await search({ min_age: '150' })).toEqual(['Eldest']);
      expect(await search({ max_age: '0' })).toEqual(['Newborn']);
      expect(await search({ min_age: '61', max_age: '60' })).toEqual([]);
    });

    it('filters combine', async () => {
      expect(await search({ search: 'snake', gender: 'female', max_age: '60' })).toEqual(['snake_case']);
    });

    it('filters stay in the next link and hold on every page', async () => {
      const pages = await walkForward('/api/patients/?gender=female&page_size=1', bob.access);
      expect(pages.flatMap((p) => p.results.map((r) => r.name)).sort()).toEqual(
        ['Ann Smith', 'Eldest', 'snakeXcase', 'snake_case'].sort(),
      );
    });

    it.each([
      [{ gender: 'robot' }, ['gender']],
      [{ min_age: 'abc' }, ['min_age']],
      [{ min_age: '-1' }, ['min_age']],
      [{ min_age: '1.5' }, ['min_age']],
      [{ max_age: '151' }, ['max_age']],
      [{ search: 'x'.repeat(201) }, ['search']],
      [{ owner: 'me' }, ['owner']],
    ])('400 for %j', async (query, fields) => {
      const res = await t.http.get(`/api/patients/?${new URLSearchParams(query)}`, { token: bob.access });
      expectProblem(res, 400, fields);
    });
  });

  describe('doctor filters', () => {
    let tag: string;

    beforeAll(async () => {
      tag = `flt${randomUUID().slice(0, 8)}`;
      await createDoctor(t.http, alice.access, { name: `Dr. One ${tag}`, specialization: 'Pediatrics' });
      await createDoctor(t.http, alice.access, { name: 'Dr. Two', specialization: `Pediatrics ${tag}` });
      await createDoctor(t.http, bob.access, { name: 'Dr. Three', specialization: `PEDIATRICS ${tag}` });
      await createDoctor(t.http, bob.access, { name: 'Dr. Four', specialization: `Pediatrics ${tag} Surgery` });
    });

    const names = async (query: Record<string, string>) => {
      const res = await t.http.get<Page>(`/api/doctors/?${new URLSearchParams({ ...query, page_size: '100' })}`, {
        token: bob.access,
      });
      expect(res.status).toBe(200);
      return res.body.results.map((r) => r.name).sort();
    };

    it('search matches the name or the specialization, regardless of case', async () => {
      expect(await names({ search: tag.toUpperCase() })).toEqual(
        [`Dr. One ${tag}`, 'Dr. Two', 'Dr. Three', 'Dr. Four'].sort(),
      );
      expect(await names({ search: `${tag} surg` })).toEqual(['Dr. Four']);
      expect(await names({ search: `one ${tag}` })).toEqual([`Dr. One ${tag}`]);
    });

    it('specialization is a case-insensitive exact match', async () => {
      expect(await names({ specialization: `pediatrics ${tag.toUpperCase()}` })).toEqual(['Dr. Three', 'Dr. Two']);
      expect(await names({ specialization: `Pediatrics ${tag} surgery` })).toEqual(['Dr. Four']);
      expect(await names({ specialization: tag })).toEqual([]);
    });

    it('search and specialization combine', async () => {
      expect(await names({ search: 'three', specialization: `Pediatrics ${tag}` })).toEqual(['Dr. Three']);
    });

    it('search matches % and _ literally', async () => {
      await createDoctor(t.http, alice.access, { name: `Dr. 100% ${tag}`, specialization: `a_b ${tag}` });
      await createDoctor(t.http, alice.access, { name: `Dr. 100x ${tag}`, specialization: `axb ${tag}` });
      expect(await names({ search: `100% ${tag}` })).toEqual([`Dr. 100% ${tag}`]);
      expect(await names({ search: `a_b ${tag}` })).toEqual([`Dr. 100% ${tag}`]);
    });

    it('unknown filters are 400', async () => {
      expectProblem(await t.http.get('/api/doctors/?email=x', { token: bob.access }), 400, ['email']);
    });
  });

  describe('admin', () => {
    it('sees everyone’s patients in the list; users see only their own', async () => {
      const tag = `adm${randomUUID().slice(0, 8)}`;
      const a = await createPatient(t.http, alice.access, { name: `Alice ${tag}` });
      const b = await createPatient(t.http, bob.access, { name: `Bob ${tag}` });
      const list = async (token: string) =>
        ids((await t.http.get<Page>(`/api/patients/?search=${tag}`, { token })).body.results).sort();
      expect(await list(admin.access)).toEqual([a.id, b.id].sort());
      expect(await list(alice.access)).toEqual([a.id]);
      expect(await list(bob.access)).toEqual([b.id]);

      // Everyone's rows page consistently for the admin too.
      const total = 25 + bulkCount + 9 + 2;
      const pages = await walkForward('/api/patients/?page_size=100', admin.access);
      expect(new Set(ids(pages.flatMap((p) => p.results))).size).toBeGreaterThanOrEqual(total);
    });

    it('reads, replaces, changes and deletes another user’s patient', async () => {
      const p = await createPatient(t.http, bob.access, { name: 'Owned by Bob' });
      const path = `/api/patients/${p.id}/`;
      const read = await t.http.get(path, { token: admin.access });
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ id: p.id, name: 'Owned by Bob' });

      const put = await t.http.put(path, buildPatient({ name: 'Renamed', age: 7 }), { token: admin.access });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ id: p.id, name: 'Renamed', age: 7 });
      const patch = await t.http.patch(path, { age: 8 }, { token: admin.access });
      expect(patch.status).toBe(200);
      expect(patch.body).toMatchObject({ name: 'Renamed', age: 8 });

      // Still Bob's: he sees the change, Alice still does not see it.
      expect((await t.http.get(path, { token: bob.access })).body).toMatchObject({ name: 'Renamed', age: 8 });
      expectProblem(await t.http.get(path, { token: alice.access }), 404);

      expect((await t.http.delete(path, { token: admin.access })).status).toBe(204);
      expectProblem(await t.http.get(path, { token: bob.access }), 404);
    });
  });

  describe('bad query strings', () => {
    it.each([
      '/api/patients/?search=%00',
      '/api/patients/?search=a%00b',
      '/api/doctors/?search=%00',
      '/api/doctors/?specialization=x%00',
      '/api/patients/?ordering=name%00',
    ])('a NUL character in %s is 400', async (path) => {
      expectProblem(await t.http.get(path, { token: alice.access }), 400);
    });

    it('PATCH with null for a patient field is 400, not a server error', async () => {
      const p = await createPatient(t.http, alice.access);
      const path = `/api/patients/${p.id}/`;
      expectProblem(await t.http.patch(path, { name: null }, { token: alice.access }), 400, ['name']);
      expectProblem(await t.http.patch(path, { age: null, address: null }, { token: alice.access }), 400, [
        'address',
        'age',
      ]);
    });
  });
});
