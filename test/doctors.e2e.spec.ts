import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildDoctor, createAdmin, createDoctor, createUser, type TestUser } from './utils/factories.js';
import { type Page, paging } from './utils/paging.js';
import { expectProblem } from './utils/problem.js';

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Registers a user, promotes it, and only then logs in (the guard caches sessions briefly). */

describe('Doctors (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await createUser(t.http);
    bob = await createUser(t.http);
    admin = await createAdmin(t);
  });
  afterAll(() => t?.close());

  describe('authentication', () => {
    it.each([
      ['GET', '/api/doctors/'],
      ['POST', '/api/doctors/'],
      ['GET', `/api/doctors/${randomUUID()}/`],
      ['PUT', `/api/doctors/${randomUUID()}/`],
      ['PATCH', `/api/doctors/${randomUUID()}/`],
      ['DELETE', `/api/doctors/${randomUUID()}/`],
    ])('%s %s is 401 without a token', async (method, path) => {
      const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? buildDoctor() : undefined;
      const res = await t.http.request(method, path, { body });
      expectProblem(res, 401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    });
  });

  describe('create', () => {
    it('201 with exactly {id, name, specialization, email, phone, version, created_at, updated_at}', async () => {
      const input = buildDoctor({ name: 'Dr. Ada Byron', specialization: 'Neurology', phone: '0123456789' });
      const res = await t.http.post('/api/doctors/', input, { token: alice.access });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(UUID),
        name: 'Dr. Ada Byron',
        specialization: 'Neurology',
        email: input.email,
        phone: '0123456789',
        version: 1,
        created_at: expect.stringMatching(ISO_MS),
        updated_at: expect.stringMatching(ISO_MS),
      });
      const read = await t.http.get(`/api/doctors/${res.body.id}/`, { token: alice.access });
      expect(read.status).toBe(200);
      expect(read.body).toEqual(res.body);
    });

    it('answers without the trailing slash too', async () => {
      const res = await t.http.post('/api/doctors', buildDoctor(), { token: alice.access });
      expect(res.status).toBe(201);
      const read = await t.http.get(`/api/doctors/${res.body.id}`, { token: alice.access });
      expect(read.status).toBe(200);
    });

    it('email is unique regardless of case: 409', async () => {
      const tag = randomUUID().slice(0, 8);
      await createDoctor(t.http, alice.access, { email: `House.${tag}@Clinic.example` });
      const dup = await t.http.post('/api/doctors/', buildDoctor({ email: `house.${tag}@clinic.EXAMPLE` }), {
        token: bob.access,
      });
      expectProblem(dup, 409);
      const exact = await t.http.post('/api/doctors/', buildDoctor({ email: `House.${tag}@Clinic.example` }), {
        token: alice.access,
      });
      expectProblem(exact, 409);
    });

    it.each([
      ['9 digits', '555123456'],
      ['11 digits', '55512345678'],
      ['letters', '555123456a'],
      ['spaces', '555 123 4567'],
      ['a leading +', '+555123456'],
      ['a number instead of a string', 5551234567],
      ['empty', ''],
      ['null', null],
    ])('phone with %s is 400', async (_label, phone) => {
      const res = await t.http.post('/api/doctors/', buildDoctor({ phone }), { token: alice.access });
      expectProblem(res, 400, ['phone']);
    });

    it.each([
      ['no @', 'not-an-email'],
      ['no domain', 'ada@'],
      ['no local part', '@clinic.example'],
      ['a number', 42],
      ['too long', `${'a'.repeat(250)}@clinic.example`],
    ])('email with %s is 400', async (_label, email) => {
      const res = await t.http.post('/api/doctors/', buildDoctor({ email }), { token: alice.access });
      expectProblem(res, 400, ['email']);
    });

    it.each([
      [{ name: '' }, ['name']],
      [{ name: '   ' }, ['name']],
      [{ name: 'x'.repeat(201) }, ['name']],
      [{ specialization: '' }, ['specialization']],
      [{ specialization: 7 }, ['specialization']],
      [{ name: null, specialization: null }, ['name', 'specialization']],
    ])('400 for invalid %j', async (patch, fields) => {
      const res = await t.http.post('/api/doctors/', buildDoctor(patch), { token: alice.access });
      expectProblem(res, 400, fields);
    });

    it('400 naming every missing field', async () => {
      const res = await t.http.post('/api/doctors/', {}, { token: alice.access });
      expectProblem(res, 400, ['email', 'name', 'phone', 'specialization']);
    });

    it('400 naming an unknown field (the creator is never taken from the body)', async () => {
      const res = await t.http.post('/api/doctors/', { ...buildDoctor(), created_by: bob.id }, { token: alice.access });
      expectProblem(res, 400, ['created_by']);
      expect(res.body.detail).toContain('created_by');
    });
  });

  describe('shared reads', () => {
    it('every authenticated user reads every doctor, in the list and by id', async () => {
      const doc = await createDoctor(t.http, alice.access);
      const one = await t.http.get(`/api/doctors/${doc.id}/`, { token: bob.access });
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject(doc);

      const list = await t.http.get('/api/doctors/?page_size=100', { token: bob.access });
      expect(list.status).toBe(200);
      expect(list.body).toEqual({ next: null, previous: null, results: expect.any(Array) });
      expect(list.body.results.map((d: { id: string }) => d.id)).toContain(doc.id);
      // Who created a doctor is not part of its representation.
      expect(Object.keys(list.body.results[0]).sort()).toEqual(
        ['created_at', 'email', 'id', 'name', 'phone', 'specialization', 'updated_at', 'version'].sort(),
      );
    });

    it('any user may add a doctor', async () => {
      const res = await t.http.post('/api/doctors/', buildDoctor(), { token: bob.access });
      expect(res.status).toBe(201);
    });

    it('a missing id is 404; a malformed one too', async () => {
      expectProblem(await t.http.get(`/api/doctors/${randomUUID()}/`, { token: alice.access }), 404);
      expectProblem(await t.http.get('/api/doctors/not-a-uuid/', { token: alice.access }), 404);
    });
  });

  describe('changes', () => {
    it('PUT replaces the whole doctor for its creator', async () => {
      const doc = await createDoctor(t.http, alice.access);
      const next = buildDoctor({ name: 'Dr. New', specialization: 'Oncology', phone: '9998887776' });
      const res = await t.http.put(`/api/doctors/${doc.id}/`, next, { token: alice.access });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: doc.id,
        ...next,
        version: 2,
        created_at: expect.stringMatching(ISO_MS),
        updated_at: expect.stringMatching(ISO_MS),
      });
      expect(Date.parse(res.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(res.body.created_at));
      const read = await t.http.get(`/api/doctors/${doc.id}/`, { token: bob.access });
      expect(read.body).toEqual(res.body);
    });

    it('PUT requires every field', async () => {
      const doc = await createDoctor(t.http, alice.access);
      const { phone: _phone, ...partial } = buildDoctor();
      expectProblem(await t.http.put(`/api/doctors/${doc.id}/`, partial, { token: alice.access }), 400, ['phone']);
      expectProblem(await t.http.put(`/api/doctors/${doc.id}/`, {}, { token: alice.access }), 400, [
        'email',
        'name',
        'phone',
        'specialization',
      ]);
    });

    it('PATCH changes only the fields it names', async () => {
      const doc = await createDoctor(t.http, alice.access, { specialization: 'Dermatology' });
      const res = await t.http.patch(`/api/doctors/${doc.id}/`, { phone: '1112223334' }, { token: alice.access });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ...doc, phone: '1112223334', version: 2, updated_at: expect.stringMatching(ISO_MS) });
      const read = await t.http.get(`/api/doctors/${doc.id}/`, { token: alice.access });
      expect(read.body).toEqual(res.body);
    });

    it('PATCH validates what it names; null is not a value', async () => {
      const doc = await createDoctor(t.http, alice.access);
      const path = `/api/doctors/${doc.id}/`;
      expectProblem(await t.http.patch(path, { phone: '123' }, { token: alice.access }), 400, ['phone']);
      expectProblem(await t.http.patch(path, { email: 'nope' }, { token: alice.access }), 400, ['email']);
      expectProblem(await t.http.patch(path, { name: null }, { token: alice.access }), 400, ['name']);
      expectProblem(await t.http.patch(path, { phone: null }, { token: alice.access }), 400, ['phone']);
      expectProblem(await t.http.patch(path, { owner: bob.id }, { token: alice.access }), 400, ['owner']);
      const read = await t.http.get(path, { token: alice.access });
      expect(read.body).toMatchObject(doc);
    });

    it('PUT or PATCH to an email another doctor has (in any case) is 409', async () => {
      const tag = randomUUID().slice(0, 8);
      await createDoctor(t.http, bob.access, { email: `taken.${tag}@clinic.example` });
      const doc = await createDoctor(t.http, alice.access);
      const path = `/api/doctors/${doc.id}/`;
      expectProblem(await t.http.patch(path, { email: `TAKEN.${tag}@clinic.example` }, { token: alice.access }), 409);
      expectProblem(
        await t.http.put(path, buildDoctor({ email: `taken.${tag}@CLINIC.example` }), { token: alice.access }),
        409,
      );
      // Keeping one's own email is no conflict.
      const same = await t.http.patch(path, { email: doc.email }, { token: alice.access });
      expect(same.status).toBe(200);
    });

    it('someone else’s doctor: 403 for PUT, PATCH and DELETE, and nothing changes', async () => {
      const doc = await createDoctor(t.http, alice.access);
      const path = `/api/doctors/${doc.id}/`;
      expectProblem(await t.http.put(path, buildDoctor(), { token: bob.access }), 403);
      expectProblem(await t.http.patch(path, { name: 'Hijacked' }, { token: bob.access }), 403);
      expectProblem(await t.http.delete(path, { token: bob.access }), 403);
      const read = await t.http.get(path, { token: bob.access });
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject(doc);
    });

    it('a missing doctor: 404 for PUT, PATCH and DELETE', async () => {
      const path = `/api/doctors/${randomUUID()}/`;
      expectProblem(await t.http.put(path, buildDoctor(), { token: alice.access }), 404);
      expectProblem(await t.http.patch(path, { name: 'X' }, { token: alice.access }), 404);
      expectProblem(await t.http.delete(path, { token: alice.access }), 404);
      expectProblem(await t.http.delete('/api/doctors/not-a-uuid/', { token: alice.access }), 404);
    });

    it('an admin may change and delete anyone’s doctor', async () => {
      const doc = await createDoctor(t.http, bob.access);
      const path = `/api/doctors/${doc.id}/`;
      const patch = await t.http.patch(path, { specialization: 'Radiology' }, { token: admin.access });
      expect(patch.status).toBe(200);
      expect(patch.body).toEqual({ ...doc, specialization: 'Radiology', version: 2, updated_at: expect.any(String) });
      const put = await t.http.put(path, buildDoctor({ name: 'Dr. Admin' }), { token: admin.access });
      expect(put.status).toBe(200);
      expect(put.body.name).toBe('Dr. Admin');
      const del = await t.http.delete(path, { token: admin.access });
      expect(del.status).toBe(204);
      expectProblem(await t.http.get(path, { token: bob.access }), 404);
    });

    it('the creator may still change a doctor after an admin edited it', async () => {
      const doc = await createDoctor(t.http, bob.access);
      const path = `/api/doctors/${doc.id}/`;
      expect((await t.http.patch(path, { name: 'Dr. By Admin' }, { token: admin.access })).status).toBe(200);
      const res = await t.http.patch(path, { name: 'Dr. By Bob' }, { token: bob.access });
      expect(res.status).toBe(200);
      expect(res.body.name).toBe('Dr. By Bob');
      expectProblem(await t.http.patch(path, { name: 'Dr. By Alice' }, { token: alice.access }), 403);
    });

    it('DELETE by the creator is 204 with no body; then 404', async () => {
      const doc = await createDoctor(t.http, alice.access);
      const path = `/api/doctors/${doc.id}/`;
      const del = await t.http.delete(path, { token: alice.access });
      expect(del.status).toBe(204);
      expect(del.text).toBe('');
      expectProblem(await t.http.get(path, { token: alice.access }), 404);
      expectProblem(await t.http.delete(path, { token: alice.access }), 404);
    });

    it('the email of a deleted doctor can be used again', async () => {
      const doc = await createDoctor(t.http, alice.access);
      expect((await t.http.delete(`/api/doctors/${doc.id}/`, { token: alice.access })).status).toBe(204);
      const again = await t.http.post('/api/doctors/', buildDoctor({ email: doc.email }), { token: bob.access });
      expect(again.status).toBe(201);
    });
  });

  /**
   * The doctor list's orderings and filters (moved from the old
   * lists spec; the contract every list shares is
   * test/pagination.e2e.spec.ts).
   */
  describe('list: orderings and filters', () => {
    let creator: TestUser;
    let other: TestUser;
    const { expectConsistentPaging } = paging(() => t);

    beforeAll(async () => {
      creator = await createUser(t.http);
      other = await createUser(t.http);
    });

    it.each(['name', '-specialization', 'specialization', 'created_at', '-created_at'])(
      'doctors ordered by %s page consistently (filters kept in the links)',
      async (ordering) => {
        const tag = `walk${randomUUID().slice(0, 8)}`;
        const specializations = ['Cardiology', 'Oncology', 'Neurology'];
        for (let i = 0; i < 16; i++) {
          await createDoctor(t.http, creator.access, { name: `Dr ${tag} ${i}`, specialization: specializations[i % 3] });
        }
        await createDoctor(t.http, creator.access); // not matched by the search
        const rows = await expectConsistentPaging(`/api/doctors/?search=${tag}&ordering=${ordering}`, other.access, 5, 16);
        expect(rows.every((r) => r.name.includes(tag))).toBe(true);
      },
    );

    it('a doctors cursor is bound to its ordering and checked for changes', async () => {
      const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
      const tag = `cur${randomUUID().slice(0, 8)}`;
      for (let i = 0; i < 3; i++) await createDoctor(t.http, creator.access, { name: `Dr ${tag} ${i}` });
      const first = await t.http.get<Page>(`/api/doctors/?search=${tag}&page_size=1&ordering=name`, {
        token: other.access,
      });
      const c = new URL(first.body.next!).searchParams.get('cursor')!;
      const get = (cur: string, ordering: string) =>
        t.http.get(`/api/doctors/?search=${tag}&page_size=1&ordering=${ordering}&cursor=${cur}`, { token: other.access });
      expect((await get(c, 'name')).status).toBe(200);
      expectProblem(await get(flip(c, 3), 'name'), 400, ['cursor']);
      expectProblem(await get(c, 'specialization'), 400, ['cursor']);
    });

    it.each(['age', 'email', 'phone', 'created_by', '-age', 'specialisation'])('ordering=%j is 400', async (ordering) => {
      const q = new URLSearchParams({ ordering });
      expectProblem(await t.http.get(`/api/doctors/?${q}`, { token: creator.access }), 400, ['ordering']);
    });

    it.each(['/api/doctors/?search=%00', '/api/doctors/?specialization=x%00'])('a NUL character in %s is 400', async (path) => {
      expectProblem(await t.http.get(path, { token: creator.access }), 400);
    });

    describe('filters', () => {
      let tag: string;

      beforeAll(async () => {
        tag = `flt${randomUUID().slice(0, 8)}`;
        await createDoctor(t.http, creator.access, { name: `Dr. One ${tag}`, specialization: 'Pediatrics' });
        await createDoctor(t.http, creator.access, { name: 'Dr. Two', specialization: `Pediatrics ${tag}` });
        await createDoctor(t.http, other.access, { name: 'Dr. Three', specialization: `PEDIATRICS ${tag}` });
        await createDoctor(t.http, other.access, { name: 'Dr. Four', specialization: `Pediatrics ${tag} Surgery` });
      });

      const names = async (query: Record<string, string>) => {
        const res = await t.http.get<Page>(`/api/doctors/?${new URLSearchParams({ ...query, page_size: '100' })}`, {
          token: other.access,
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
        await createDoctor(t.http, creator.access, { name: `Dr. 100% ${tag}`, specialization: `a_b ${tag}` });
        await createDoctor(t.http, creator.access, { name: `Dr. 100x ${tag}`, specialization: `axb ${tag}` });
        expect(await names({ search: `100% ${tag}` })).toEqual([`Dr. 100% ${tag}`]);
        expect(await names({ search: `a_b ${tag}` })).toEqual([`Dr. 100% ${tag}`]);
      });

      it('unknown filters are 400', async () => {
        expectProblem(await t.http.get('/api/doctors/?email=x', { token: other.access }), 400, ['email']);
      });
    });
  });
});
