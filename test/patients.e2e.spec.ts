import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildPatient, createPatient, createUser, type TestUser } from './utils/factories.js';
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
});
