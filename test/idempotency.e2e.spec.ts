import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { IdempotencyExpiry } from '../src/idempotency/idempotency-expiry.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildDoctor, buildUser, createDoctor, createPatient, createUser, type TestUser } from './utils/factories.js';
import { rawRequest } from './utils/http.js';
import { expectProblem } from './utils/problem.js';

/**
 * Safe retries (issue 12): every create accepts Idempotency-Key. A retry with
 * the same key and body gets the first answer again, without a second
 * write; the same key with another body is 422; while the first is still
 * running, 409 with Retry-After; keys belong to their caller and expire.
 */
describe('Idempotency-Key on creates (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await createUser(t.http);
    bob = await createUser(t.http);
  });
  afterAll(() => t?.close());

  const keyed = (token: string | undefined, key: string) => ({ token, headers: { 'Idempotency-Key': key } });
  const patientsNamed = async (name: string) =>
    ((await t.dataSource.query(`SELECT count(*)::int AS n FROM patients WHERE name = $1`, [name])) as Array<{ n: number }>)[0].n;
  const storedKeys = async (key: string) =>
    ((await t.dataSource.query(`SELECT count(*)::int AS n FROM idempotency_keys WHERE key = $1`, [key])) as Array<{ n: number }>)[0].n;

  it('a retry of a patient create gets the first answer again (same status, body, ETag), marked replayed, and creates nothing', async () => {
    const key = randomUUID();
    const name = `Retry ${key.slice(0, 8)}`;
    const body = { name, age: 30, gender: 'female', address: '1 Quay' };
    const first = await t.http.post('/api/patients/', body, keyed(alice.access, key));
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(first.headers.get('location')).toBe(`/api/patients/${first.body.id}/`);

    // The same request again, and with its fields in another order (the digest is of the canonical JSON).
    const again = await t.http.post('/api/patients/', body, keyed(alice.access, key));
    const reordered = await t.http.post('/api/patients/', { address: '1 Quay', gender: 'female', age: 30, name }, keyed(alice.access, key));
    // The draft's Structured Field form of the same key.
    const quoted = await t.http.post('/api/patients/', body, keyed(alice.access, `"${key}"`));
    for (const res of [again, reordered, quoted]) {
      expect(res.status).toBe(201);
      expect(res.text).toBe(first.text);
      expect(res.headers.get('idempotent-replayed')).toBe('true');
      expect(res.headers.get('etag')).toBe(first.headers.get('etag'));
      expect(res.headers.get('location')).toBe(first.headers.get('location'));
    }
    expect(await patientsNamed(name)).toBe(1);
    // The replay discloses the record: an audit event of its own, naming the patient.
    const events = await t.dataSource.query(
      `SELECT action, status, actor_id FROM audit_events WHERE resource_id = $1 AND reason = 'idempotent_replay'`,
      [first.body.id],
    );
    expect(events).toEqual(Array(3).fill({ action: 'read', status: 201, actor_id: alice.id }));
  });

  it('the same key with another body is 422 and creates nothing; another caller’s same key is theirs alone', async () => {
    const key = randomUUID();
    const name = `Reuse ${key.slice(0, 8)}`;
    expect((await t.http.post('/api/patients/', { name, age: 30, gender: 'male' }, keyed(alice.access, key))).status).toBe(201);
    const other = await t.http.post('/api/patients/', { name, age: 31, gender: 'male' }, keyed(alice.access, key));
    expectProblem(other, 422);
    expect(other.body.detail).toMatch(/different request/);
    // The same key on another route is another request too.
    expectProblem(await t.http.post('/api/doctors/', buildDoctor(), keyed(alice.access, key)), 422);
    expect(await patientsNamed(name)).toBe(1);

    const bobs = await t.http.post('/api/patients/', { name, age: 30, gender: 'male' }, keyed(bob.access, key));
    expect(bobs.status).toBe(201);
    expect(bobs.headers.get('idempotent-replayed')).toBeNull();
    expect(await patientsNamed(name)).toBe(2);
    // Bob's record is not Alice's to see through her key, nor hers through his.
    expect((await t.http.get(`/api/patients/${bobs.body.id}/`, { token: alice.access })).status).toBe(404);
  });

  it('without the header nothing changes: two identical creates make two patients', async () => {
    const name = `Plain ${randomUUID().slice(0, 8)}`;
    for (let i = 0; i < 2; i++) {
      const res = await t.http.post('/api/patients/', { name, age: 30, gender: 'male' }, { token: alice.access });
      expect(res.status).toBe(201);
      expect(res.headers.get('idempotent-replayed')).toBeNull();
    }
    expect(await patientsNamed(name)).toBe(2);
  });

  it('a malformed key is a 400 naming the header, and nothing is created', async () => {
    const name = `Malformed ${randomUUID().slice(0, 8)}`;
    const body = JSON.stringify({ name, age: 30, gender: 'male' });
    for (const key of ['', 'k'.repeat(256), 'caf\u00e9', '"unterminated', '"a"b"', '"bad\\escape"']) {
      const res = await rawRequest(t.baseUrl, 'POST', '/api/patients/', {
        authorization: `Bearer ${alice.access}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      }, body);
      expect({ key, status: res.status }).toEqual({ key, status: 400 });
      expectProblem(res, 400, ['Idempotency-Key']);
    }
    expect(await patientsNamed(name)).toBe(0);
    // 255 printable characters, spaces included, are a key.
    expect((await t.http.post('/api/patients/', { name, age: 30, gender: 'male' }, keyed(alice.access, `${'k'.repeat(250)} a b`))).status).toBe(201);
  });

  it('a refused create stores no key: its retry runs again (a doctor whose email was taken, then fixed)', async () => {
    const taken = (await createDoctor(t.http, alice.access)).email as string;
    const key = randomUUID();
    const body = buildDoctor({ email: taken });
    expectProblem(await t.http.post('/api/doctors/', body, keyed(alice.access, key)), 409);
    expect(await storedKeys(key)).toBe(0);
    // The same request again is refused again (not a stored 409), and once the email is free it succeeds.
    expectProblem(await t.http.post('/api/doctors/', body, keyed(alice.access, key)), 409);
    const fixed = await t.http.post('/api/doctors/', { ...body, email: `free.${key.slice(0, 8)}@clinic.example` }, keyed(alice.access, key));
    expect(fixed.status).toBe(201);
    const replay = await t.http.post('/api/doctors/', { ...body, email: `free.${key.slice(0, 8)}@clinic.example` }, keyed(alice.access, key));
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(fixed.body);
    expect([fixed.headers.get('location'), replay.headers.get('location')]).toEqual([`/api/doctors/${fixed.body.id}/`, `/api/doctors/${fixed.body.id}/`]);
    expect(await storedKeys(key)).toBe(1);
  });

  it('mappings and registrations replay too; an unauthenticated key is bound to its body', async () => {
    const patient = await createPatient(t.http, alice.access);
    const doctor = await createDoctor(t.http, alice.access);
    const key = randomUUID();
    const first = await t.http.post('/api/mappings/', { patient: patient.id, doctor: doctor.id }, keyed(alice.access, key));
    const again = await t.http.post('/api/mappings/', { patient: patient.id, doctor: doctor.id }, keyed(alice.access, key));
    expect([first.status, again.status, again.headers.get('idempotent-replayed')]).toEqual([201, 201, 'true']);
    expect(again.body).toEqual(first.body);

    const account = buildUser();
    const registered = await t.http.post('/api/auth/register/', account, keyed(undefined, key));
    const retried = await t.http.post('/api/auth/register/', account, keyed(undefined, key));
    expect([registered.status, retried.status, retried.headers.get('idempotent-replayed')]).toEqual([201, 201, 'true']);
    expect(retried.body).toEqual(registered.body);
    // Someone else using the same key with their own body is a registration of their own, not a 422 or a replay.
    const someoneElse = await t.http.post('/api/auth/register/', buildUser(), keyed(undefined, key));
    expect(someoneElse.status).toBe(201);
    expect(someoneElse.headers.get('idempotent-replayed')).toBeNull();
    expect(someoneElse.body.id).not.toBe(registered.body.id);
  });

  it('20 identical keyed creates at once make one patient: every answer is that 201, or 409 with Retry-After while it runs', async () => {
    const key = randomUUID();
    const name = `Burst ${key.slice(0, 8)}`;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => t.http.post('/api/patients/', { name, age: 40, gender: 'other' }, keyed(alice.access, key))),
    );
    expect(await patientsNamed(name)).toBe(1);
    const created = answers.filter((a) => a.status === 201);
    const busy = answers.filter((a) => a.status === 409);
    expect(created.length + busy.length).toBe(20);
    expect(new Set(created.map((a) => a.body.id)).size).toBe(1);
    expect(created.filter((a) => a.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    for (const a of busy) {
      expectProblem(a, 409);
      expect(a.headers.get('retry-after')).toBe('1');
    }
    // Retried after its Retry-After, a 409's request gets the stored answer.
    const late = await t.http.post('/api/patients/', { name, age: 40, gender: 'other' }, keyed(alice.access, key));
    expect([late.status, late.body.id, late.headers.get('idempotent-replayed')]).toEqual([201, created[0].body.id, 'true']);
  });

  it('an expired key is a new request, and the background job removes expired keys', async () => {
    const key = randomUUID();
    const name = `Expired ${key.slice(0, 8)}`;
    const body = { name, age: 30, gender: 'male' };
    const first = await t.http.post('/api/patients/', body, keyed(alice.access, key));
    await t.dataSource.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1`, [key]);
    const later = await t.http.post('/api/patients/', body, keyed(alice.access, key));
    expect(later.status).toBe(201);
    expect(later.headers.get('idempotent-replayed')).toBeNull();
    expect(later.body.id).not.toBe(first.body.id);
    expect(await patientsNamed(name)).toBe(2);
    const [row] = await t.dataSource.query(`SELECT body, expires_at > now() AS live FROM idempotency_keys WHERE key = $1`, [key]);
    expect({ id: JSON.parse(row.body).id, live: row.live }).toEqual({ id: later.body.id, live: true });

    await t.dataSource.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1`, [key]);
    expect(await t.app.get(IdempotencyExpiry).removeExpired()).toBeGreaterThanOrEqual(1);
    expect(await storedKeys(key)).toBe(0);
  });

  it('the key is stored by the create’s own transaction: a create that rolls back leaves no key (a deleted patient’s mapping, 404)', async () => {
    const patient = await createPatient(t.http, alice.access);
    const doctor = await createDoctor(t.http, alice.access);
    await t.http.delete(`/api/doctors/${doctor.id}/`, { token: alice.access });
    const key = randomUUID();
    expectProblem(await t.http.post('/api/mappings/', { patient: patient.id, doctor: doctor.id }, keyed(alice.access, key)), 404);
    expect(await storedKeys(key)).toBe(0);
    expect(
      ((await t.dataSource.query(`SELECT count(*)::int AS n FROM patient_doctor_mappings WHERE patient_id = $1`, [patient.id])) as Array<{ n: number }>)[0].n,
    ).toBe(0);
  });
});
