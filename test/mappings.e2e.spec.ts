import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import type { HttpResponse } from './utils/http.js';
import { createAdmin, createDoctor, createPatient, createUser, type TestUser } from './utils/factories.js';
import { expectProblem } from './utils/problem.js';

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Mapping = { id: string; patient: string; doctor: string; created_at: string };

/** Registers a user, promotes it, and only then logs in (the guard caches sessions briefly). */

/** The list order: created_at descending, then id descending (two rows can share a millisecond). */
function newestFirst<T>(items: T[], at: (x: T) => string, id: (x: T) => string): T[] {
  return [...items].sort((a, b) => at(b).localeCompare(at(a)) || (id(b) < id(a) ? -1 : id(b) > id(a) ? 1 : 0));
}

/** Every item of a list, following `next` from the first page. */
async function listAll<T>(t: TestApp, path: string, token: string): Promise<T[]> {
  const items: T[] = [];
  let url: string | null = `${t.baseUrl}${path}`;
  while (url) {
    const res: HttpResponse = await t.http.get(url.slice(t.baseUrl.length), { token });
    expect(res.status).toBe(200);
    items.push(...(res.body.results as T[]));
    url = res.body.next;
  }
  return items;
}

describe('Mappings (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let admin: TestUser;

  const assign = (token: string, patient: string, doctor: string) =>
    t.http.post('/api/mappings/', { patient, doctor }, { token });
  const mappingCount = async (where: string, id: string) =>
    Number(
      ((await t.dataSource.query(`SELECT count(*)::int AS n FROM patient_doctor_mappings WHERE ${where} = $1`, [
        id,
      ])) as { n: number }[])[0].n,
    );

  beforeAll(async () => {
    t = await createTestApp();
    alice = await createUser(t.http);
    bob = await createUser(t.http);
    admin = await createAdmin(t);
  });
  afterAll(() => t?.close());

  it.each([
    ['GET', '/api/mappings/'],
    ['POST', '/api/mappings/'],
    ['GET', `/api/mappings/${randomUUID()}/`],
    ['DELETE', `/api/mappings/${randomUUID()}/`],
  ])('%s %s is 401 without a token', async (method, path) => {
    const body = method === 'POST' ? { patient: randomUUID(), doctor: randomUUID() } : undefined;
    const res = await t.http.request(method, path, { body });
    expectProblem(res, 401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  describe('create', () => {
    it('201 with exactly {id, patient, doctor, created_at}', async () => {
      const patient = await createPatient(t.http, alice.access);
      const doctor = await createDoctor(t.http, bob.access);
      const res = await assign(alice.access, patient.id, doctor.id);
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(UUID),
        patient: patient.id,
        doctor: doctor.id,
        created_at: expect.stringMatching(ISO_MS),
      });
    });

    it('answers without the trailing slash too', async () => {
      const patient = await createPatient(t.http, alice.access);
      const doctor = await createDoctor(t.http, alice.access);
      const res = await t.http.post('/api/mappings', { patient: patient.id, doctor: doctor.id }, { token: alice.access });
      expect(res.status).toBe(201);
    });

    it('someone else’s patient is 404, as a missing one, and nothing is stored', async () => {
      const bobs = await createPatient(t.http, bob.access);
      const doctor = await createDoctor(t.http, alice.access);
      const res = await assign(alice.access, bobs.id, doctor.id);
      expectProblem(res, 404);
      expect(res.body.detail).toMatch(/patient/i);
      expectProblem(await assign(alice.access, randomUUID(), doctor.id), 404);
      expect(await mappingCount('patient_id', bobs.id)).toBe(0);
    });

    it('an unknown doctor is 404, and the problem says which one is missing', async () => {
      const patient = await createPatient(t.http, alice.access);
      const res = await assign(alice.access, patient.id, randomUUID());
      expectProblem(res, 404);
      expect(res.body.detail).toMatch(/doctor/i);
      expect(await mappingCount('patient_id', patient.id)).toBe(0);
    });

    it('a pair that exists is 409', async () => {
      const patient = await createPatient(t.http, alice.access);
      const doctor = await createDoctor(t.http, alice.access);
      expect((await assign(alice.access, patient.id, doctor.id)).status).toBe(201);
      expectProblem(await assign(alice.access, patient.id, doctor.id), 409);
      expect(await mappingCount('patient_id', patient.id)).toBe(1);
    });

    it('one patient may have several doctors and one doctor several patients', async () => {
      const p1 = await createPatient(t.http, alice.access);
      const p2 = await createPatient(t.http, alice.access);
      const d1 = await createDoctor(t.http, alice.access);
      const d2 = await createDoctor(t.http, alice.access);
      for (const [p, d] of [
        [p1, d1],
        [p1, d2],
        [p2, d1],
      ]) {
        expect((await assign(alice.access, p.id, d.id)).status).toBe(201);
      }
    });

    it.each([
      [{ patient: 'not-a-uuid', doctor: randomUUID() }, ['patient']],
      [{ patient: randomUUID(), doctor: 42 }, ['doctor']],
      [{}, ['doctor', 'patient']],
      [{ patient: null, doctor: null }, ['doctor', 'patient']],
      [{ patient: randomUUID(), doctor: randomUUID(), owner: randomUUID() }, ['owner']],
    ])('400 for %j', async (body, fields) => {
      expectProblem(await t.http.post('/api/mappings/', body, { token: alice.access }), 400, fields);
    });

    it('an admin may assign a doctor to anyone’s patient', async () => {
      const patient = await createPatient(t.http, bob.access);
      const doctor = await createDoctor(t.http, alice.access);
      const res = await assign(admin.access, patient.id, doctor.id);
      expect(res.status).toBe(201);
      expect(res.body.patient).toBe(patient.id);
    });
  });

  describe('GET /api/mappings/', () => {
    it('lists only the mappings of the caller’s patients, in a page envelope, newest first', async () => {
      const carol = await createUser(t.http);
      const dave = await createUser(t.http);
      const doctor = await createDoctor(t.http, carol.access);
      const mine: Mapping[] = [];
      for (let i = 0; i < 3; i++) {
        const p = await createPatient(t.http, carol.access);
        mine.push((await assign(carol.access, p.id, doctor.id)).body);
      }
      const theirs = await createPatient(t.http, dave.access);
      const other = (await assign(dave.access, theirs.id, doctor.id)).body;

      const res = await t.http.get('/api/mappings/', { token: carol.access });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ next: null, previous: null, results: expect.any(Array) });
      const expected = newestFirst(mine, (m) => m.created_at, (m) => m.id);
      expect(res.body.results).toEqual(expected);

      const all = await listAll<Mapping>(t, '/api/mappings/?page_size=2', carol.access);
      expect(all).toEqual(expected);

      const daves = await t.http.get('/api/mappings', { token: dave.access });
      expect(daves.body.results).toEqual([other]);

      // An admin's list shows everyone's.
      const adminIds = (await listAll<Mapping>(t, '/api/mappings/?page_size=100', admin.access)).map((m) => m.id);
      expect(adminIds).toEqual(expect.arrayContaining([...mine.map((m) => m.id), other.id]));
    });

    it('page_size and cursor are validated', async () => {
      expectProblem(await t.http.get('/api/mappings/?page_size=0', { token: alice.access }), 400, ['page_size']);
      expectProblem(await t.http.get('/api/mappings/?cursor=garbage', { token: alice.access }), 400, ['cursor']);
      expectProblem(await t.http.get('/api/mappings/?ordering=created_at', { token: alice.access }), 400, [
        'ordering',
      ]);
    });
  });

  describe('GET /api/mappings/{patient_id}/', () => {
    it('lists the patient’s doctors, each with mapping_id and assigned_at', async () => {
      const patient = await createPatient(t.http, alice.access);
      const d1 = await createDoctor(t.http, bob.access, { specialization: 'Cardiology' });
      const d2 = await createDoctor(t.http, alice.access, { specialization: 'Neurology' });
      const m1 = (await assign(alice.access, patient.id, d1.id)).body;
      const m2 = (await assign(alice.access, patient.id, d2.id)).body;
      // Another patient's doctors stay out.
      const other = await createPatient(t.http, alice.access);
      await assign(alice.access, other.id, (await createDoctor(t.http, alice.access)).id);

      const res = await t.http.get(`/api/mappings/${patient.id}/`, { token: alice.access });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ next: null, previous: null, results: expect.any(Array) });
      const doctor = async (id: string) => (await t.http.get(`/api/doctors/${id}/`, { token: alice.access })).body;
      const expected = newestFirst(
        [
          { ...(await doctor(d1.id)), mapping_id: m1.id, assigned_at: m1.created_at },
          { ...(await doctor(d2.id)), mapping_id: m2.id, assigned_at: m2.created_at },
        ],
        (d) => d.assigned_at,
        (d) => d.mapping_id,
      );
      expect(res.body.results).toEqual(expected);

      const noSlash = await t.http.get(`/api/mappings/${patient.id}`, { token: alice.access });
      expect(noSlash.body).toEqual(res.body);

      const paged = await listAll<{ mapping_id: string }>(t, `/api/mappings/${patient.id}/?page_size=1`, alice.access);
      expect(paged.map((d) => d.mapping_id)).toEqual(expected.map((d) => d.mapping_id));
    });

    it('a patient without doctors has an empty list', async () => {
      const patient = await createPatient(t.http, alice.access);
      const res = await t.http.get(`/api/mappings/${patient.id}/`, { token: alice.access });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ next: null, previous: null, results: [] });
    });

    it('someone else’s patient is 404, as a missing or malformed id', async () => {
      const bobs = await createPatient(t.http, bob.access);
      await assign(bob.access, bobs.id, (await createDoctor(t.http, bob.access)).id);
      expectProblem(await t.http.get(`/api/mappings/${bobs.id}/`, { token: alice.access }), 404);
      expectProblem(await t.http.get(`/api/mappings/${randomUUID()}/`, { token: alice.access }), 404);
      expectProblem(await t.http.get('/api/mappings/not-a-uuid/', { token: alice.access }), 404);
      // The owner and an admin see them.
      expect((await t.http.get(`/api/mappings/${bobs.id}/`, { token: bob.access })).body.results).toHaveLength(1);
      expect((await t.http.get(`/api/mappings/${bobs.id}/`, { token: admin.access })).body.results).toHaveLength(1);
    });
  });

  describe('DELETE /api/mappings/{id}/', () => {
    it('204 unassigns; the doctor stays', async () => {
      const patient = await createPatient(t.http, alice.access);
      const doctor = await createDoctor(t.http, alice.access);
      const m = (await assign(alice.access, patient.id, doctor.id)).body;
      const del = await t.http.delete(`/api/mappings/${m.id}/`, { token: alice.access });
      expect(del.status).toBe(204);
      expect(del.text).toBe('');
      const left = await t.http.get(`/api/mappings/${patient.id}/`, { token: alice.access });
      expect(left.body.results).toEqual([]);
      expect((await t.http.get(`/api/doctors/${doctor.id}/`, { token: alice.access })).status).toBe(200);
      expectProblem(await t.http.delete(`/api/mappings/${m.id}/`, { token: alice.access }), 404);
      // Unassigned, the pair can be assigned again.
      expect((await assign(alice.access, patient.id, doctor.id)).status).toBe(201);
    });

    it('a mapping of someone else’s patient is 404 and stays', async () => {
      const bobs = await createPatient(t.http, bob.access);
      const m = (await assign(bob.access, bobs.id, (await createDoctor(t.http, alice.access)).id)).body;
      expectProblem(await t.http.delete(`/api/mappings/${m.id}/`, { token: alice.access }), 404);
      expect(await mappingCount('id', m.id)).toBe(1);
      expectProblem(await t.http.delete(`/api/mappings/${randomUUID()}/`, { token: alice.access }), 404);
      expectProblem(await t.http.delete('/api/mappings/not-a-uuid/', { token: alice.access }), 404);
    });

    it('an admin may delete anyone’s mapping', async () => {
      const bobs = await createPatient(t.http, bob.access);
      const m = (await assign(bob.access, bobs.id, (await createDoctor(t.http, bob.access)).id)).body;
      expect((await t.http.delete(`/api/mappings/${m.id}`, { token: admin.access })).status).toBe(204);
      expect(await mappingCount('id', m.id)).toBe(0);
    });
  });

  describe('cascades', () => {
    it('deleting a patient hides its mappings (kept for a restore)', async () => {
      const patient = await createPatient(t.http, alice.access);
      const d1 = await createDoctor(t.http, alice.access);
      const d2 = await createDoctor(t.http, bob.access);
      await assign(alice.access, patient.id, d1.id);
      await assign(alice.access, patient.id, d2.id);
      expect(await mappingCount('patient_id', patient.id)).toBe(2);
      expect((await t.http.delete(`/api/patients/${patient.id}/`, { token: alice.access })).status).toBe(204);
      expect(await mappingCount('patient_id', patient.id)).toBe(2);
      const ids = (await listAll<Mapping>(t, '/api/mappings/?page_size=100', alice.access)).map((m) => m.patient);
      expect(ids).not.toContain(patient.id);
      const everyone = (await listAll<Mapping>(t, '/api/admin/mappings/?page_size=100', admin.access)).map((m) => m.patient);
      expect(everyone).not.toContain(patient.id);
      // The doctors stay.
      expect((await t.http.get(`/api/doctors/${d1.id}/`, { token: alice.access })).status).toBe(200);
    });

    it('deleting a doctor hides its mappings (kept for a restore)', async () => {
      const doctor = await createDoctor(t.http, bob.access);
      const pa = await createPatient(t.http, alice.access);
      const pb = await createPatient(t.http, bob.access);
      await assign(alice.access, pa.id, doctor.id);
      await assign(bob.access, pb.id, doctor.id);
      expect(await mappingCount('doctor_id', doctor.id)).toBe(2);
      expect((await t.http.delete(`/api/doctors/${doctor.id}/`, { token: bob.access })).status).toBe(204);
      expect(await mappingCount('doctor_id', doctor.id)).toBe(2);
      const res = await t.http.get(`/api/mappings/${pa.id}/`, { token: alice.access });
      expect(res.body.results).toEqual([]);
      // The patients stay.
      expect((await t.http.get(`/api/patients/${pa.id}/`, { token: alice.access })).status).toBe(200);
    });
  });
});
