import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DeletedRecordsService, PURGE_LOCK_KEY } from '../src/deleted/deleted-records.service.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildDoctor, createAdmin, createDoctor, createPatient, createUser, type TestUser } from './utils/factories.js';
import { expectProblem } from './utils/problem.js';

/**
 * Deletes that can be undone (issue 12): a DELETE marks the record, which
 * then behaves for everyone exactly as a deleted one did (404 everywhere,
 * gone from lists, searches and mappings, a doctor's email free again); its
 * owner or an admin restores it with its mappings; after
 * DELETED_RETENTION_DAYS the purge removes it for good, each purge an audit
 * event.
 */
describe('Deletes that can be undone (e2e)', () => {
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

  const ids = (res: { body: { results: Array<{ id: string }> } }) => res.body.results.map((r) => r.id);
  const patientWithDoctor = async (name = `Deleted ${randomUUID().slice(0, 8)}`) => {
    const patient = await createPatient(t.http, alice.access, { name });
    const doctor = await createDoctor(t.http, alice.access);
    const mapping = await t.http.post('/api/mappings/', { patient: patient.id, doctor: doctor.id }, { token: alice.access });
    expect(mapping.status).toBe(201);
    return { patient, doctor, mappingId: mapping.body.id as string };
  };
  /** Sets a record's delete back in time, as if it happened `days` ago. */
  const deletedDaysAgo = (table: 'patients' | 'doctors', id: string, days: number) =>
    t.dataSource.query(`UPDATE ${table} SET deleted_at = now() - make_interval(days => $2) WHERE id = $1`, [id, days]);

  it('a deleted patient is 404 on every route, gone from every list and search, and its mappings with it', async () => {
    const { patient, doctor, mappingId } = await patientWithDoctor('Zebulon Quagmire');
    const token = { token: alice.access };
    expect((await t.http.delete(`/api/patients/${patient.id}/`, token)).status).toBe(204);

    for (const res of [
      await t.http.get(`/api/patients/${patient.id}/`, token),
      await t.http.get(`/api/patients/${patient.id}/`, { token: admin.access }),
      await t.http.put(`/api/patients/${patient.id}/`, { name: 'X', age: 1, gender: 'other', address: '' }, token),
      await t.http.patch(`/api/patients/${patient.id}/`, { age: 2 }, token),
      await t.http.delete(`/api/patients/${patient.id}/`, token),
      await t.http.delete(`/api/patients/${patient.id}/`, { token: admin.access, headers: { 'If-Match': '*' } }),
      await t.http.get(`/api/patients/${patient.id}/history/`, token),
      await t.http.get(`/api/mappings/${patient.id}/`, token),
      await t.http.post('/api/mappings/', { patient: patient.id, doctor: doctor.id }, token),
      await t.http.delete(`/api/mappings/${mappingId}/`, token),
    ]) {
      expectProblem(res, 404);
    }
    expect(ids(await t.http.get('/api/patients/?page_size=100', token))).not.toContain(patient.id);
    expect(ids(await t.http.get('/api/patients/?search=quagmire', token))).toEqual([]);
    expect(ids(await t.http.get('/api/admin/patients/?search=quagmire', { token: admin.access }))).toEqual([]);
    expect(ids(await t.http.get('/api/mappings/?page_size=100', token))).not.toContain(mappingId);
    expect(ids(await t.http.get(`/api/admin/mappings/?patient=${patient.id}`, { token: admin.access }))).toEqual([]);
    // The doctor itself is untouched.
    expect((await t.http.get(`/api/doctors/${doctor.id}/`, token)).status).toBe(200);
  });

  it('its owner restores it within the retention: the same record, one version on, with its mappings and both steps in its history', async () => {
    const { patient, mappingId } = await patientWithDoctor();
    const token = { token: alice.access };
    await t.http.delete(`/api/patients/${patient.id}/`, token);

    // Not bob's to restore, and a missing id is the same 404.
    expectProblem(await t.http.post(`/api/patients/${patient.id}/restore/`, undefined, { token: bob.access }), 404);
    expectProblem(await t.http.post(`/api/patients/${randomUUID()}/restore/`, undefined, token), 404);

    const restored = await t.http.post(`/api/patients/${patient.id}/restore/`, undefined, token);
    expect(restored.status).toBe(200);
    expect(restored.body).toEqual({ ...patient, version: 3, updated_at: expect.any(String) });
    expect(restored.headers.get('etag')).toBe('W/"3"');
    // Live again, everywhere; a second restore finds nothing deleted.
    expect((await t.http.get(`/api/patients/${patient.id}/`, token)).body.version).toBe(3);
    expect(ids(await t.http.get('/api/mappings/?page_size=100', token))).toContain(mappingId);
    expect((await t.http.get(`/api/mappings/${patient.id}/`, token)).body.results).toHaveLength(1);
    expectProblem(await t.http.post(`/api/patients/${patient.id}/restore/`, undefined, token), 404);

    const history = await t.http.get(`/api/patients/${patient.id}/history/`, token);
    expect(history.body.results.map((e: { version: number; action: string; changes: object }) => [e.version, e.action, e.changes])).toEqual([
      [3, 'restore', {}],
      [2, 'delete', {}],
      [1, 'create', expect.any(Object)],
    ]);
    const events = await t.dataSource.query(
      `SELECT action, actor_id, status FROM audit_events WHERE resource_id = $1 AND action IN ('delete', 'restore') AND actor_id = $2 AND status < 400 ORDER BY seq`,
      [patient.id, alice.id],
    );
    expect(events).toEqual([
      { action: 'delete', actor_id: alice.id, status: 204 },
      { action: 'restore', actor_id: alice.id, status: 200 },
    ]);
  });

  it('past the retention, or deleted by an admin, only an admin can restore it', async () => {
    const old = await createPatient(t.http, alice.access);
    await t.http.delete(`/api/patients/${old.id}/`, { token: alice.access });
    await deletedDaysAgo('patients', old.id, t.config.records.deletedRetentionDays + 1);
    expectProblem(await t.http.post(`/api/patients/${old.id}/restore/`, undefined, { token: alice.access }), 404);

    const byAdmin = await createPatient(t.http, alice.access);
    await t.http.delete(`/api/patients/${byAdmin.id}/`, { token: admin.access });
    expectProblem(await t.http.post(`/api/patients/${byAdmin.id}/restore/`, undefined, { token: alice.access }), 404);

    // The admin routes: not for users; for admins, any deleted patient not yet purged.
    expectProblem(await t.http.post(`/api/admin/patients/${old.id}/restore/`, undefined, { token: alice.access }), 403);
    for (const id of [old.id, byAdmin.id]) {
      const res = await t.http.post(`/api/admin/patients/${id}/restore/`, undefined, { token: admin.access });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id, version: 3 });
    }
    expectProblem(await t.http.post(`/api/admin/patients/${old.id}/restore/`, undefined, { token: admin.access }), 404);
    // A malformed id is not found, as on every route with an id.
    expectProblem(await t.http.post('/api/admin/patients/not-a-uuid/restore/', undefined, { token: admin.access }), 404);
  });

  it('a stale If-Match on the delete is 412 and deletes nothing', async () => {
    const patient = await createPatient(t.http, alice.access);
    await t.http.patch(`/api/patients/${patient.id}/`, { age: 50 }, { token: alice.access });
    const stale = await t.http.delete(`/api/patients/${patient.id}/`, { token: alice.access, headers: { 'If-Match': 'W/"1"' } });
    expectProblem(stale, 412);
    expect(stale.body.current_version).toBe(2);
    expect((await t.http.get(`/api/patients/${patient.id}/`, { token: alice.access })).status).toBe(200);
    expect((await t.http.delete(`/api/patients/${patient.id}/`, { token: alice.access, headers: { 'If-Match': 'W/"2"' } })).status).toBe(204);
  });

  it("a deleted doctor is 404 and frees its email; restoring it while a live doctor has that email is 409, changing nothing", async () => {
    const email = `dr.${randomUUID().slice(0, 8)}@clinic.example`;
    const { patient, doctor, mappingId } = await patientWithDoctor();
    await t.http.patch(`/api/doctors/${doctor.id}/`, { email }, { token: alice.access });
    // Someone else's doctor is still 403 to delete; its creator deletes it.
    expectProblem(await t.http.delete(`/api/doctors/${doctor.id}/`, { token: bob.access }), 403);
    expect((await t.http.delete(`/api/doctors/${doctor.id}/`, { token: alice.access })).status).toBe(204);

    for (const res of [
      await t.http.get(`/api/doctors/${doctor.id}/`, { token: bob.access }),
      await t.http.patch(`/api/doctors/${doctor.id}/`, { phone: '5550000000' }, { token: admin.access }),
      await t.http.delete(`/api/doctors/${doctor.id}/`, { token: alice.access }),
      await t.http.get(`/api/doctors/${doctor.id}/history/`, { token: alice.access }),
      await t.http.post('/api/mappings/', { patient: patient.id, doctor: doctor.id }, { token: alice.access }),
      await t.http.delete(`/api/mappings/${mappingId}/`, { token: alice.access }),
    ]) {
      expectProblem(res, 404);
    }
    expect((await t.http.get(`/api/mappings/${patient.id}/`, { token: alice.access })).body.results).toEqual([]);
    expect(ids(await t.http.get(`/api/doctors/?search=${encodeURIComponent(doctor.name)}`, { token: alice.access }))).not.toContain(doctor.id);

    // The email is free: a new doctor takes it (in another case, too), and the old one cannot come back beside it.
    const taker = await t.http.post('/api/doctors/', buildDoctor({ email: email.toUpperCase() }), { token: bob.access });
    expect(taker.status).toBe(201);
    expectProblem(await t.http.post(`/api/admin/doctors/${doctor.id}/restore/`, undefined, { token: alice.access }), 403);
    const conflict = await t.http.post(`/api/admin/doctors/${doctor.id}/restore/`, undefined, { token: admin.access });
    expectProblem(conflict, 409);
    expect(conflict.body.detail).toMatch(/email/);
    expect((await t.dataSource.query(`SELECT version, deleted_at IS NOT NULL AS deleted FROM doctors WHERE id = $1`, [doctor.id]))[0]).toEqual({
      version: 3,
      deleted: true,
    });

    // Once the taker is gone, the doctor comes back with its mapping.
    await t.http.delete(`/api/doctors/${taker.body.id}/`, { token: bob.access });
    const restored = await t.http.post(`/api/admin/doctors/${doctor.id}/restore/`, undefined, { token: admin.access });
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ id: doctor.id, email, version: 4 });
    expect(restored.headers.get('etag')).toBe('W/"4"');
    expect(ids(await t.http.get(`/api/mappings/${patient.id}/`, { token: alice.access }))).toEqual([doctor.id]);
    expect(ids(await t.http.get(`/api/admin/mappings/?patient=${patient.id}`, { token: admin.access }))).toEqual([mappingId]);
    expectProblem(await t.http.post(`/api/admin/doctors/${doctor.id}/restore/`, undefined, { token: admin.access }), 404);
  });

  it("GET /api/admin/deleted/?type= lists deleted patients or doctors, newest first, for admins only, as an audited disclosure", async () => {
    const first = await createPatient(t.http, bob.access, { name: 'First gone' });
    const second = await createPatient(t.http, bob.access, { name: 'Second gone' });
    await t.http.delete(`/api/patients/${first.id}/`, { token: bob.access });
    await t.http.delete(`/api/patients/${second.id}/`, { token: admin.access });
    const doctor = await createDoctor(t.http, bob.access);
    await t.http.delete(`/api/doctors/${doctor.id}/`, { token: bob.access });

    const patients = await t.http.get('/api/admin/deleted/?type=patient&page_size=100', { token: admin.access });
    expect(patients.status).toBe(200);
    const listed = patients.body.results as Array<Record<string, unknown>>;
    expect(listed.findIndex((r) => r.id === second.id)).toBeLessThan(listed.findIndex((r) => r.id === first.id));
    const entry = listed.find((r) => r.id === first.id)!;
    expect(entry).toEqual({
      type: 'patient',
      id: first.id,
      name: 'First gone',
      version: 2,
      deleted_at: expect.any(String),
      deleted_by: bob.id,
      purge_after: new Date(Date.parse(entry.deleted_at as string) + t.config.records.deletedRetentionDays * 86_400_000).toISOString(),
    });
    expect(listed.find((r) => r.id === second.id)?.deleted_by).toBe(admin.id);
    const doctors = await t.http.get('/api/admin/deleted/?type=doctor&page_size=100', { token: admin.access });
    expect(doctors.body.results.map((r: { id: string; type: string }) => [r.id, r.type])).toContainEqual([doctor.id, 'doctor']);
    expect(ids(doctors)).not.toContain(first.id);

    // Patients unless asked.
    expect(ids(await t.http.get('/api/admin/deleted/?page_size=100', { token: admin.access }))).toEqual(ids(patients));
    expectProblem(await t.http.get('/api/admin/deleted/?type=mapping', { token: admin.access }), 400, ['type']);
    expectProblem(await t.http.get('/api/admin/deleted/?type=patient', { token: bob.access }), 403);

    const [event] = await t.dataSource.query(
      `SELECT resource_type, status, patient_ids FROM audit_events WHERE action = 'list' AND actor_id = $1 AND $2 = ANY(patient_ids) ORDER BY seq DESC LIMIT 1`,
      [admin.id, first.id],
    );
    expect(event).toMatchObject({ resource_type: 'patient', status: 200 });
  });

  it('the purge removes for good what was deleted before the retention, with its history and mappings, each an audit event', async () => {
    const expired = await patientWithDoctor();
    const recent = await createPatient(t.http, alice.access);
    const doctor = await createDoctor(t.http, alice.access);
    for (const id of [expired.patient.id, recent.id]) await t.http.delete(`/api/patients/${id}/`, { token: alice.access });
    await t.http.delete(`/api/doctors/${doctor.id}/`, { token: alice.access });
    const days = t.config.records.deletedRetentionDays;
    await deletedDaysAgo('patients', expired.patient.id, days + 1);
    await deletedDaysAgo('doctors', doctor.id, days + 1);
    await deletedDaysAgo('patients', recent.id, days - 1);

    const result = await t.app.get(DeletedRecordsService).purgeExpired();
    expect(result).toMatchObject({ busy: false });
    expect(result.patients).toBeGreaterThanOrEqual(1);
    expect(result.doctors).toBeGreaterThanOrEqual(1);
    const rows = async (sql: string, id: string) => (await t.dataSource.query(sql, [id])) as unknown[];
    expect(await rows('SELECT 1 FROM patients WHERE id = $1', expired.patient.id)).toEqual([]);
    expect(await rows('SELECT 1 FROM patient_history WHERE patient_id = $1', expired.patient.id)).toEqual([]);
    expect(await rows('SELECT 1 FROM patient_doctor_mappings WHERE id = $1', expired.mappingId)).toEqual([]);
    expect(await rows('SELECT 1 FROM doctors WHERE id = $1', doctor.id)).toEqual([]);
    // Within the retention: kept, still restorable by its owner.
    expect(await rows('SELECT 1 FROM patients WHERE id = $1', recent.id)).toHaveLength(1);
    expect((await t.http.post(`/api/patients/${recent.id}/restore/`, undefined, { token: alice.access })).status).toBe(200);
    // The doctor of the purged patient's mapping is live and untouched.
    expect((await t.http.get(`/api/doctors/${expired.doctor.id}/`, { token: alice.access })).status).toBe(200);
    expectProblem(await t.http.post(`/api/admin/patients/${expired.patient.id}/restore/`, undefined, { token: admin.access }), 404);

    const events = await t.dataSource.query(
      `SELECT resource_type, resource_id, patient_id, actor_id, reason FROM audit_events WHERE action = 'purge' AND resource_id = ANY($1) ORDER BY resource_type`,
      [[expired.patient.id, doctor.id]],
    );
    expect(events).toEqual([
      { resource_type: 'doctor', resource_id: doctor.id, patient_id: null, actor_id: null, reason: 'retention' },
      { resource_type: 'patient', resource_id: expired.patient.id, patient_id: expired.patient.id, actor_id: null, reason: 'retention' },
    ]);
    // Nothing left to purge: a second run removes nothing.
    expect(await t.app.get(DeletedRecordsService).purgeExpired()).toEqual({ patients: 0, doctors: 0, busy: false });
  });

  it('a client of the old service sees no change: DELETE is 204, then the record is 404, and its list no longer has it', async () => {
    const patient = await createPatient(t.http, bob.access);
    const res = await t.http.delete(`/api/patients/${patient.id}/`, { token: bob.access });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expectProblem(await t.http.get(`/api/patients/${patient.id}/`, { token: bob.access }), 404);
  });
});

// Two instances purging at once: the one without the advisory lock leaves the work to the other. PGlite has one
// session, so no second holder can exist there.
describe('Purge under the advisory lock (e2e, PostgreSQL)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('while another session holds the purge lock, a purge removes nothing and says it is busy', async () => {
    if (t.db.kind !== 'postgres') {
      // One session: the lock is always this purge's own.
      expect(await t.app.get(DeletedRecordsService).purgeExpired()).toMatchObject({ busy: false });
      return;
    }
    const user = await createUser(t.http);
    const patient = await createPatient(t.http, user.access);
    await t.http.delete(`/api/patients/${patient.id}/`, { token: user.access });
    await t.dataSource.query(`UPDATE patients SET deleted_at = now() - interval '400 days' WHERE id = $1`, [patient.id]);
    const other = new pg.Client({ connectionString: t.db.env.DATABASE_URL });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock($1)', [PURGE_LOCK_KEY]);
      expect(await t.app.get(DeletedRecordsService).purgeExpired()).toEqual({ patients: 0, doctors: 0, busy: true });
      await other.query('COMMIT');
    } finally {
      await other.end();
    }
    expect(await t.app.get(DeletedRecordsService).purgeExpired()).toMatchObject({ patients: 1, busy: false });
  });
});
