import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildPatient, createAdmin, createPatient, createUser, type TestUser } from './utils/factories.js';
import { ids, type Page, paging, type Row } from './utils/paging.js';
import { expectProblem } from './utils/problem.js';

describe('Patients (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await createUser(t.http);
    bob = await createUser(t.http);
  });
  afterAll(() => t?.close());

  it('401 without a token, with a Bearer challenge', async () => {
    const res = await t.http.get('/api/patients/');
    expectProblem(res, 401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('creates a patient owned by the caller; gender is stored lowercase', async () => {
    const res = await t.http.post('/api/patients/', buildPatient({ name: 'Grace Hopper', gender: 'FeMale' }), {
      token: alice.access,
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Grace Hopper',
      age: 42,
      gender: 'female',
      address: '1 Harbour Road',
      version: 1,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updated_at: expect.any(String),
    });
  });

  it('never takes the owner from the body', async () => {
    const res = await t.http.post('/api/patients/', { ...buildPatient(), owner: bob.id }, { token: alice.access });
    expectProblem(res, 400, ['owner']);
  });

  it.each([
    [{ age: 151 }, ['age']],
    [{ age: -1 }, ['age']],
    [{ age: 4.5 }, ['age']],
    [{ age: '40' }, ['age']],
    [{ gender: 'robot' }, ['gender']],
    [{ name: '' }, ['name']],
    [{ name: 'x'.repeat(201) }, ['name']],
    [{ address: 'x'.repeat(501) }, ['address']],
    [{ name: 7, age: null }, ['age', 'name']],
  ])('400 for invalid %j', async (patch, fields) => {
    const res = await t.http.post('/api/patients/', buildPatient(patch), { token: alice.access });
    expectProblem(res, 400, fields);
  });

  it('lists only the caller’s patients; someone else’s id is 404 for every verb', async () => {
    const mine = await createPatient(t.http, bob.access, { name: 'Bob Patient' });
    const list = await t.http.get('/api/patients/', { token: alice.access });
    expect(list.body.results.map((p: { id: string }) => p.id)).not.toContain(mine.id);

    const path = `/api/patients/${mine.id}/`;
    expectProblem(await t.http.get(path, { token: alice.access }), 404);
    expectProblem(await t.http.put(path, buildPatient(), { token: alice.access }), 404);
    expectProblem(await t.http.patch(path, { age: 1 }, { token: alice.access }), 404);
    expectProblem(await t.http.delete(path, { token: alice.access }), 404);
    // Unchanged for its owner.
    const still = await t.http.get(path, { token: bob.access });
    expect(still.body).toMatchObject({ name: 'Bob Patient', age: 42 });
  });

  it('PUT needs every field; PATCH changes only what it names', async () => {
    const p = await createPatient(t.http, alice.access, { address: 'Old' });
    const path = `/api/patients/${p.id}/`;
    expectProblem(await t.http.put(path, { name: 'N', age: 3, gender: 'male' }, { token: alice.access }), 400, ['address']);
    const put = await t.http.put(path, { name: 'New', age: 3, gender: 'male', address: '' }, { token: alice.access });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ name: 'New', age: 3, gender: 'male', address: '' });
    const patch = await t.http.patch(path, { age: 4 }, { token: alice.access });
    expect(patch.body).toMatchObject({ name: 'New', age: 4, gender: 'male', address: '' });
    expect(Date.parse(patch.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(put.body.updated_at));
  });

  it('answers with and without the trailing slash, without redirecting', async () => {
    const p = await createPatient(t.http, alice.access);
    const a = await t.http.get(`/api/patients/${p.id}`, { token: alice.access });
    const b = await t.http.get(`/api/patients/${p.id}/`, { token: alice.access });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body).toEqual(b.body);
  });

  it('a malformed id is 404', async () => {
    expectProblem(await t.http.get('/api/patients/not-a-uuid/', { token: alice.access }), 404);
  });

  it('DELETE removes the patient', async () => {
    const p = await createPatient(t.http, alice.access);
    const del = await t.http.delete(`/api/patients/${p.id}/`, { token: alice.access });
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expectProblem(await t.http.get(`/api/patients/${p.id}/`, { token: alice.access }), 404);
  });

  it('stores strings byte for byte', async () => {
    const name = '  Zoë 🩺 O’Brien\t';
    const p = await createPatient(t.http, alice.access, { name, address: 'Straße 5\nBerlin' });
    const res = await t.http.get(`/api/patients/${p.id}/`, { token: alice.access });
    expect(res.body.name).toBe(name);
    expect(res.body.address).toBe('Straße 5\nBerlin');
  });

  it("user A's ordering=name cursor replayed by user B is 400, whatever B's own patients are (issue 11, item 6)", async () => {
    for (let i = 0; i < 3; i++) await createPatient(t.http, alice.access, { name: `Cursor ${i}` });
    await createPatient(t.http, bob.access, { name: 'Cursor probe' });
    const first = await t.http.get('/api/patients/?ordering=name&page_size=1', { token: alice.access });
    const next = new URL(first.body.next);
    const path = `${next.pathname}${next.search}`;
    expect((await t.http.get(path, { token: alice.access })).status).toBe(200);
    expectProblem(await t.http.get(path, { token: bob.access }), 400, ['cursor']);
  });

  describe('search (issue 11, item 9)', () => {
    const names = async (search: string) => {
      const res = await t.http.get(`/api/patients/?${new URLSearchParams({ search, page_size: '100' })}`, { token: alice.access });
      expect(res.status).toBe(200);
      return (res.body.results as Array<{ name: string }>).map((r) => r.name).sort();
    };

    beforeAll(async () => {
      for (const name of ['Jo Search', 'Ann Jo Search', 'Joanna Search']) await createPatient(t.http, alice.access, { name });
    });

    it('3 letters or digits in a row: a substring, in any case', async () => {
      expect(await names('joa')).toEqual(['Joanna Search']);
      expect(await names('SEARCH')).toEqual(['Ann Jo Search', 'Jo Search', 'Joanna Search']);
    });

    it('fewer: names that start with the term (still served by the trigram index)', async () => {
      expect(await names('jo')).toEqual(['Jo Search', 'Joanna Search']);
      expect(await names('j')).toEqual(['Jo Search', 'Joanna Search']);
    });

    it.each(['%'.repeat(200), '_', '%_%', '   ', '!?', '\\'])('a term without a letter or digit (%j) is 400, never a table scan', async (search) => {
      const res = await t.http.get(`/api/patients/?${new URLSearchParams({ search })}`, { token: alice.access });
      expectProblem(res, 400, ['search']);
      const admin = await t.http.get(`/api/doctors/?${new URLSearchParams({ search })}`, { token: alice.access });
      expectProblem(admin, 400, ['search']);
    });

    it('an empty search is no search', async () => {
      const res = await t.http.get('/api/patients/?search=', { token: alice.access });
      expect(res.status).toBe(200);
    });
  });

  /**
   * The patient list's orderings and filters (moved from the old
   * lists spec; the contract every list shares is
   * test/pagination.e2e.spec.ts).
   */
  describe('list: orderings and filters', () => {
    /** 25 patients created over HTTP, for walking pages. */
    let walker: TestUser;
    /** A few patients with chosen names and ages, for filters. */
    let filterer: TestUser;
    /** 130 patients inserted in one statement (they share created_at). */
    let bulk: TestUser;
    let admin: TestUser;
    let walkPatients: Row[];
    const bulkCount = 130;
    const { walkForward, walkBackward, expectConsistentPaging } = paging(() => t);

    beforeAll(async () => {
      walker = await createUser(t.http);
      filterer = await createUser(t.http);
      bulk = await createUser(t.http);
      admin = await createAdmin(t);
      walkPatients = [];
      for (let i = 1; i <= 25; i++) {
        // Ages repeat, so orderings by age have ties that only the id breaks.
        const p = await createPatient(t.http, walker.access, { name: `Walk ${String(i).padStart(2, '0')}`, age: i % 4 });
        walkPatients.push(p as unknown as Row);
      }
      await t.dataSource.query(
        `INSERT INTO patients (owner_id, name, age, gender)
         SELECT $1, 'Bulk ' || lpad(g::text, 3, '0'), g % 151, 'other' FROM generate_series(1, $2::int) AS g`,
        [bulk.id, bulkCount],
      );
      // Four logins (argon2) and 25 creates: give a loaded machine room.
    }, 60_000);

    it('a page is {next, previous, results}; the next link is absolute and keeps the list’s filters', async () => {
      const res = await t.http.get<Page>('/api/patients/?page_size=7&min_age=0', { token: walker.access });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['next', 'previous', 'results']);
      expect(res.body.previous).toBeNull();
      const next = new URL(res.body.next!);
      expect(next.origin).toBe(t.baseUrl);
      expect(next.pathname).toBe('/api/patients/');
      expect(next.searchParams.get('cursor')).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(next.searchParams.get('page_size')).toBe('7');
      expect(next.searchParams.get('min_age')).toBe('0');
    });

    it('default order is newest first, and following next visits every row exactly once', async () => {
      const rows = await expectConsistentPaging('/api/patients/', walker.access, 7, 25);
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
        const rows = await expectConsistentPaging(`/api/patients/?ordering=${ordering}`, walker.access, 7, 25);
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
      const forward = await walkForward('/api/patients/?page_size=100', bulk.access);
      expect(forward.map((p) => p.results.length)).toEqual([100, bulkCount - 100]);
      const visited = ids(forward.flatMap((p) => p.results));
      expect(new Set(visited).size).toBe(bulkCount);
      const stored = (await t.dataSource.query('SELECT id FROM patients WHERE owner_id = $1', [bulk.id])) as {
        id: string;
      }[];
      expect(new Set(visited)).toEqual(new Set(stored.map((r) => r.id)));

      const small = await walkForward('/api/patients/?page_size=13&ordering=created_at', bulk.access);
      expect(new Set(ids(small.flatMap((p) => p.results))).size).toBe(bulkCount);
      const back = await walkBackward(small[small.length - 1], bulk.access);
      expect(back.map((p) => ids(p.results))).toEqual(
        small
          .slice(0, -1)
          .reverse()
          .map((p) => ids(p.results)),
      );
    });

    it.each(['gender', 'address', 'owner_id', 'id', '-', '--name', 'name,age', 'NAME', ' name', 'updated_at'])(
      'ordering=%j is 400',
      async (ordering) => {
        const q = new URLSearchParams({ ordering });
        expectProblem(await t.http.get(`/api/patients/?${q}`, { token: walker.access }), 400, ['ordering']);
      },
    );

    it.each(['name', '-name', 'created_at', '-created_at', 'age', '-age'])('ordering=%s is 200', async (o) => {
      expect((await t.http.get(`/api/patients/?ordering=${o}`, { token: walker.access })).status).toBe(200);
    });

    describe('filters', () => {
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
        for (const [name, age, gender] of rows) await createPatient(t.http, filterer.access, { name, age, gender });
      });

      const search = async (query: Record<string, string>) => {
        const res = await t.http.get<Page>(`/api/patients/?${new URLSearchParams({ ...query, page_size: '100' })}`, {
          token: filterer.access,
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
        const pages = await walkForward('/api/patients/?gender=female&page_size=1', filterer.access);
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
        const res = await t.http.get(`/api/patients/?${new URLSearchParams(query)}`, { token: filterer.access });
        expectProblem(res, 400, fields);
      });
    });

    it('an admin sees everyone’s patients in the list; users see only their own', async () => {
      const tag = `adm${randomUUID().slice(0, 8)}`;
      const a = await createPatient(t.http, walker.access, { name: `Alice ${tag}` });
      const b = await createPatient(t.http, filterer.access, { name: `Bob ${tag}` });
      const list = async (token: string) =>
        ids((await t.http.get<Page>(`/api/patients/?search=${tag}`, { token })).body.results).sort();
      expect(await list(admin.access)).toEqual([a.id, b.id].sort());
      expect(await list(walker.access)).toEqual([a.id]);
      expect(await list(filterer.access)).toEqual([b.id]);

      // Everyone's rows page consistently for the admin too.
      const total = 25 + bulkCount + 9 + 2;
      const pages = await walkForward('/api/patients/?page_size=100', admin.access);
      expect(new Set(ids(pages.flatMap((p) => p.results))).size).toBeGreaterThanOrEqual(total);
    });

    it('an admin reads, replaces, changes and deletes another user’s patient', async () => {
      const p = await createPatient(t.http, filterer.access, { name: 'Owned by Bob' });
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
      expect((await t.http.get(path, { token: filterer.access })).body).toMatchObject({ name: 'Renamed', age: 8 });
      expectProblem(await t.http.get(path, { token: walker.access }), 404);

      expect((await t.http.delete(path, { token: admin.access })).status).toBe(204);
      expectProblem(await t.http.get(path, { token: filterer.access }), 404);
    });

    it.each(['/api/patients/?search=%00', '/api/patients/?search=a%00b', '/api/patients/?ordering=name%00'])(
      'a NUL character in %s is 400',
      async (path) => {
        expectProblem(await t.http.get(path, { token: walker.access }), 400);
      },
    );

    it('PATCH with null for a patient field is 400, not a server error', async () => {
      const p = await createPatient(t.http, walker.access);
      const path = `/api/patients/${p.id}/`;
      expectProblem(await t.http.patch(path, { name: null }, { token: walker.access }), 400, ['name']);
      expectProblem(await t.http.patch(path, { age: null, address: null }, { token: walker.access }), 400, [
        'address',
        'age',
      ]);
    });
  });
});
