import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildDoctor, buildPatient, createAdmin, createDoctor, createPatient, createUser, type TestUser } from './utils/factories.js';
import type { HttpResponse } from './utils/http.js';
import { expectProblem } from './utils/problem.js';

interface Entry {
  version: number;
  changed_at: string;
  changed_by: string | null;
  action: string;
  changes: Record<string, { from: unknown; to: unknown }>;
}

/**
 * Every version of a patient and a doctor: written by the change's own
 * transaction, read newest first as a cursor page, visible to whoever may see
 * the record, and an audited disclosure.
 */
describe('Record history (e2e)', () => {
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

  const historyOf = async (path: string, token: string) => {
    const res = await t.http.get(path, { token });
    expect(res.status).toBe(200);
    return res.body.results as Entry[];
  };

  it("a patient's create, PATCH and PUT: one entry per version, newest first, each with what changed, when and by whom", async () => {
    const created = await t.http.post('/api/patients/', buildPatient({ name: 'Ada Lovelace', age: 36, gender: 'female', address: '' }), { token: alice.access });
    const id = created.body.id as string;
    await t.http.patch(`/api/patients/${id}/`, { age: 37 }, { token: alice.access });
    await t.http.put(`/api/patients/${id}/`, { name: 'Ada King', age: 37, gender: 'female', address: 'Ockham Park' }, { token: admin.access });

    const entries = await historyOf(`/api/patients/${id}/history/`, alice.access);
    // The owner sees her own changes named, not who else changed it; an admin sees everyone.
    expect(entries.map((e) => [e.version, e.action, e.changed_by])).toEqual([
      [3, 'update', null],
      [2, 'update', alice.id],
      [1, 'create', alice.id],
    ]);
    expect((await historyOf(`/api/patients/${id}/history/`, admin.access)).map((e) => e.changed_by)).toEqual([admin.id, alice.id, alice.id]);
    expect(entries[2].changes).toEqual({
      name: { from: null, to: 'Ada Lovelace' },
      age: { from: null, to: 36 },
      gender: { from: null, to: 'female' },
      address: { from: null, to: '' },
    });
    expect(entries[1].changes).toEqual({ age: { from: 36, to: 37 } });
    // The PUT sent every field; only those that changed are listed.
    expect(entries[0].changes).toEqual({ name: { from: 'Ada Lovelace', to: 'Ada King' }, address: { from: '', to: 'Ockham Park' } });
    for (const e of entries) expect(Date.parse(e.changed_at)).toBeGreaterThanOrEqual(Date.parse(created.body.created_at));
    // Without the trailing slash too, and for an admin.
    expect((await historyOf(`/api/patients/${id}/history`, admin.access)).map((e) => e.version)).toEqual([3, 2, 1]);
  });

  it('is a cursor page like every list: page_size, next and previous, a cursor bound to its record and caller', async () => {
    const p = await createPatient(t.http, alice.access, { age: 1 });
    for (let age = 2; age <= 5; age++) await t.http.patch(`/api/patients/${p.id}/`, { age }, { token: alice.access });
    const seen: number[] = [];
    let path: string | null = `/api/patients/${p.id}/history/?page_size=2`;
    while (path) {
      const res: HttpResponse = await t.http.get(path, { token: alice.access });
      expect(res.status).toBe(200);
      seen.push(...res.body.results.map((e: Entry) => e.version));
      const next: string | null = res.body.next;
      if (seen.length === 2) {
        // Someone else's replay of alice's cursor: 400, as on every list.
        const replayed = await t.http.get(new URL(next!).pathname + new URL(next!).search, { token: admin.access });
        expectProblem(replayed, 400, ['cursor']);
      }
      path = next ? new URL(next).pathname + new URL(next).search : null;
    }
    expect(seen).toEqual([5, 4, 3, 2, 1]);
    // The cursor of one record's history does not open another's.
    const other = await createPatient(t.http, alice.access);
    const first = await t.http.get(`/api/patients/${p.id}/history/?page_size=1`, { token: alice.access });
    const cursor = new URL(first.body.next).searchParams.get('cursor');
    expectProblem(await t.http.get(`/api/patients/${other.id}/history/?cursor=${cursor}`, { token: alice.access }), 400, ['cursor']);
  });

  it("someone else's patient's history is 404, as the patient is; bad queries are 400 and a malformed id 404", async () => {
    const p = await createPatient(t.http, alice.access);
    expectProblem(await t.http.get(`/api/patients/${p.id}/history/`, { token: bob.access }), 404);
    expectProblem(await t.http.get(`/api/patients/${randomUUID()}/history/`, { token: alice.access }), 404);
    expectProblem(await t.http.get('/api/patients/not-a-uuid/history/', { token: alice.access }), 404);
    expectProblem(await t.http.get(`/api/patients/${p.id}/history/?page_size=0`, { token: alice.access }), 400, ['page_size']);
    expectProblem(await t.http.get(`/api/patients/${p.id}/history/?ordering=version`, { token: alice.access }), 400, ['ordering']);
    expectProblem(await t.http.get(`/api/patients/${p.id}/history/`), 401);
  });

  it('a refused change (412, 404, 400) writes no entry; a DELETE is an entry, and hides the history with its record', async () => {
    const p = await createPatient(t.http, alice.access);
    expect((await t.http.patch(`/api/patients/${p.id}/`, { age: 9 }, { token: alice.access, headers: { 'if-match': 'W/"7"' } })).status).toBe(412);
    expect((await t.http.patch(`/api/patients/${p.id}/`, { age: 9 }, { token: bob.access })).status).toBe(404);
    expect((await t.http.patch(`/api/patients/${p.id}/`, { age: 900 }, { token: alice.access })).status).toBe(400);
    expect((await historyOf(`/api/patients/${p.id}/history/`, alice.access)).map((e) => e.version)).toEqual([1]);

    expect((await t.http.delete(`/api/patients/${p.id}/`, { token: alice.access })).status).toBe(204);
    expectProblem(await t.http.get(`/api/patients/${p.id}/history/`, { token: alice.access }), 404);
    expectProblem(await t.http.get(`/api/patients/${p.id}/history/`, { token: admin.access }), 404);
    const entries = await t.dataSource.query(`SELECT version, action, changes FROM patient_history WHERE patient_id = $1 ORDER BY version`, [p.id]);
    expect(entries).toEqual([expect.objectContaining({ version: 1, action: 'create' }), { version: 2, action: 'delete', changes: {} }]);
  });

  it("a doctor's history: every user reads it; changes by the creator and by an admin", async () => {
    const created = await t.http.post('/api/doctors/', buildDoctor({ specialization: 'Cardiology', phone: '5551234567' }), { token: alice.access });
    const id = created.body.id as string;
    await t.http.patch(`/api/doctors/${id}/`, { phone: '5557654321' }, { token: alice.access });
    await t.http.patch(`/api/doctors/${id}/`, { specialization: 'Oncology' }, { token: admin.access });
    // Bob may not change it, and his refusal writes nothing.
    expect((await t.http.patch(`/api/doctors/${id}/`, { name: 'Dr. Bob' }, { token: bob.access })).status).toBe(403);

    const entries = await historyOf(`/api/doctors/${id}/history/`, bob.access);
    // Who added or changed a shared doctor is not shown to other users (as a doctor's body never shows its creator).
    expect(entries.map((e) => [e.version, e.action, e.changed_by, e.changes])).toEqual([
      [3, 'update', null, { specialization: { from: 'Cardiology', to: 'Oncology' } }],
      [2, 'update', null, { phone: { from: '5551234567', to: '5557654321' } }],
      [1, 'create', null, expect.objectContaining({ email: { from: null, to: created.body.email } })],
    ]);
    expect((await historyOf(`/api/doctors/${id}/history/`, alice.access)).map((e) => e.changed_by)).toEqual([null, alice.id, alice.id]);
    expect((await historyOf(`/api/doctors/${id}/history/`, admin.access)).map((e) => e.changed_by)).toEqual([admin.id, alice.id, alice.id]);
    expectProblem(await t.http.get(`/api/doctors/${randomUUID()}/history/`, { token: bob.access }), 404);
  });

  it('a history read is an audited disclosure of the record (action history)', async () => {
    const p = await createPatient(t.http, alice.access);
    const requestId = `history-${randomUUID()}`;
    const res = await t.http.get(`/api/patients/${p.id}/history/`, { token: alice.access, headers: { 'x-request-id': requestId } });
    expect(res.status).toBe(200);
    let events: Array<{ action: string; resource_type: string; resource_id: string; patient_id: string; status: number; actor_id: string }> = [];
    for (let i = 0; i < 40 && events.length === 0; i++) {
      events = await t.dataSource.query(
        `SELECT action, resource_type, resource_id, patient_id, status, actor_id FROM audit_events WHERE request_id = $1`,
        [requestId],
      );
      if (events.length === 0) await new Promise((r) => setTimeout(r, 25));
    }
    expect(events).toEqual([{ action: 'history', resource_type: 'patient', resource_id: p.id, patient_id: p.id, status: 200, actor_id: alice.id }]);

    const d = await createDoctor(t.http, alice.access);
    const doctorRequest = `history-${randomUUID()}`;
    await t.http.get(`/api/doctors/${d.id}/history/`, { token: bob.access, headers: { 'x-request-id': doctorRequest } });
    let doctorEvents: Array<{ action: string; resource_id: string }> = [];
    for (let i = 0; i < 40 && doctorEvents.length === 0; i++) {
      doctorEvents = await t.dataSource.query(`SELECT action, resource_id FROM audit_events WHERE request_id = $1`, [doctorRequest]);
      if (doctorEvents.length === 0) await new Promise((r) => setTimeout(r, 25));
    }
    expect(doctorEvents).toEqual([{ action: 'history', resource_id: d.id }]);
  });
});
