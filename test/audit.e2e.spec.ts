import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EventRow } from '../src/audit/audit-chain.js';
import { AuditChainService } from '../src/audit/audit-chain.service.js';
import { AuditEventsRepository, SEQ_ORDER } from '../src/audit/audit-events.repository.js';
import { CursorCodec } from '../src/common/pagination/cursor-codec.js';
import { pageRequest, parseOrdering } from '../src/common/pagination/keyset-query.js';
import { RefusalWriter } from '../src/audit/refusal-writer.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildDoctor, buildUser, createAdmin, createDoctor, createPatient, createUser, PASSWORD, type TestUser } from './utils/factories.js';
import type { RequestOptions } from './utils/http.js';
import { expectProblem } from './utils/problem.js';

describe('Audit trail: what requests record (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await createUser(t.http);
    bob = await createUser(t.http);
  });
  afterAll(() => t?.close());

  /** Sends a request with a fresh X-Request-Id and returns the response with the events recorded under that id. */
  async function audited(method: string, path: string, options: RequestOptions = {}) {
    const requestId = `audit-${randomUUID()}`;
    const res = await t.http.request(method, path, {
      ...options,
      headers: { ...options.headers, 'x-request-id': requestId, 'user-agent': 'audit-test/1.0' },
    });
    // Refusals are written without holding up the answer (RefusalWriter batches them): write them now,
    // and give the others a moment.
    await t.app.get(RefusalWriter).flush();
    let events: EventRow[] = [];
    for (let i = 0; i < 20; i++) {
      events = await t.dataSource.query(
        `SELECT seq, actor_id, session_id, action, resource_type, resource_id, patient_id, result_ids, status, reason,
                request_id, client_ip, user_agent
           FROM audit_events WHERE request_id = $1 ORDER BY seq`,
        [requestId],
      );
      if (events.length > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    return { res, events, requestId };
  }

  const sessionOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sid as string;

  it('a patient create, read, update, list and delete each write exactly one event, with who, where and how it ended', async () => {
    const created = await audited('POST', '/api/patients/', {
      token: alice.access,
      body: { name: 'Audrey Secret', age: 51, gender: 'female', address: '7 Hidden Lane' },
    });
    expect(created.res.status).toBe(201);
    const id = created.res.body.id as string;
    expect(created.events).toEqual([
      expect.objectContaining({
        actor_id: alice.id,
        session_id: sessionOf(alice.access),
        action: 'create',
        resource_type: 'patient',
        resource_id: id,
        patient_id: id,
        status: 201,
        reason: null,
        user_agent: 'audit-test/1.0',
        client_ip: expect.stringMatching(/127\.0\.0\.1/),
      }),
    ]);

    const read = await audited('GET', `/api/patients/${id}/`, { token: alice.access });
    expect(read.events).toEqual([expect.objectContaining({ action: 'read', resource_id: id, patient_id: id, status: 200 })]);

    const updated = await audited('PATCH', `/api/patients/${id}/`, { token: alice.access, body: { age: 52 } });
    expect(updated.events).toEqual([expect.objectContaining({ action: 'update', resource_id: id, status: 200 })]);

    const list = await audited('GET', '/api/patients/?page_size=100', { token: alice.access });
    expect(list.events).toEqual([expect.objectContaining({ action: 'list', resource_type: 'patient', resource_id: null, status: 200 })]);
    expect(list.events[0].result_ids).toEqual((list.res.body.results as Array<{ id: string }>).map((p) => p.id));

    const removed = await audited('DELETE', `/api/patients/${id}/`, { token: alice.access });
    expect(removed.events).toEqual([expect.objectContaining({ action: 'delete', resource_id: id, status: 204 })]);

    // Ids only: no name, address or age anywhere in the trail.
    const dump = JSON.stringify(await t.dataSource.query(`SELECT * FROM audit_events`));
    expect(dump).not.toMatch(/Audrey|Secret|Hidden Lane/);
  });

  it("someone else's patient: the 404 is recorded against the caller", async () => {
    const patient = await createPatient(t.http, alice.access);
    const { res, events } = await audited('GET', `/api/patients/${patient.id}/`, { token: bob.access });
    expectProblem(res, 404);
    expect(events).toEqual([
      expect.objectContaining({ actor_id: bob.id, action: 'read', resource_id: patient.id, status: 404, reason: 'not_found' }),
    ]);
    const write = await audited('PATCH', `/api/patients/${patient.id}/`, { token: bob.access, body: { age: 1 } });
    expect(write.events).toEqual([expect.objectContaining({ actor_id: bob.id, action: 'update', status: 404, reason: 'not_found' })]);
  });

  it('mappings: create, list of a patient’s doctors, delete, and a duplicate (409), one event each', async () => {
    const patient = await createPatient(t.http, alice.access);
    const doctor = await createDoctor(t.http, alice.access);
    const created = await audited('POST', '/api/mappings/', { token: alice.access, body: { patient: patient.id, doctor: doctor.id } });
    const mappingId = created.res.body.id as string;
    expect(created.events).toEqual([
      expect.objectContaining({ action: 'create', resource_type: 'mapping', resource_id: mappingId, patient_id: patient.id, status: 201 }),
    ]);
    const duplicate = await audited('POST', '/api/mappings/', { token: alice.access, body: { patient: patient.id, doctor: doctor.id } });
    expect(duplicate.events).toEqual([expect.objectContaining({ action: 'create', resource_type: 'mapping', status: 409, reason: 'conflict' })]);

    const doctors = await audited('GET', `/api/mappings/${patient.id}/`, { token: alice.access });
    expect(doctors.events).toEqual([
      expect.objectContaining({ action: 'list', resource_type: 'mapping', patient_id: patient.id, result_ids: [mappingId], status: 200 }),
    ]);
    const removed = await audited('DELETE', `/api/mappings/${mappingId}/`, { token: alice.access });
    expect(removed.events).toEqual([
      expect.objectContaining({ action: 'delete', resource_id: mappingId, patient_id: patient.id, status: 204 }),
    ]);
  });

  it('refusals: no token, a bad token, a non-admin on an admin route, a bad body', async () => {
    const none = await audited('GET', '/api/patients/');
    expect(none.events).toEqual([expect.objectContaining({ action: 'access_denied', actor_id: null, status: 401, reason: 'no_token' })]);
    const bad = await audited('GET', '/api/patients/', { token: 'not.a.token' });
    expect(bad.events).toEqual([expect.objectContaining({ action: 'access_denied', status: 401, reason: 'invalid_token' })]);
    const admin = await audited('GET', '/api/admin/patients/', { token: alice.access });
    expect(admin.events).toEqual([
      expect.objectContaining({ action: 'access_denied', actor_id: alice.id, status: 403, reason: 'not_admin' }),
    ]);
    const invalid = await audited('POST', '/api/patients/', { token: alice.access, body: { age: 900 } });
    expect(invalid.events).toEqual([expect.objectContaining({ action: 'create', status: 400, reason: 'invalid_request' })]);
  });

  it('auth events: register, login (good and bad), refresh, reuse, logout, password change', async () => {
    const input = buildUser();
    const reg = await audited('POST', '/api/auth/register/', { body: input });
    const userId = reg.res.body.id as string;
    expect(reg.events).toEqual([expect.objectContaining({ action: 'create', resource_type: 'user', resource_id: userId, actor_id: userId, status: 201 })]);

    const wrong = await audited('POST', '/api/auth/login/', { body: { username: input.username, password: 'Not-The-Password-1' } });
    expect(wrong.events).toEqual([
      expect.objectContaining({ action: 'login_failed', resource_id: userId, actor_id: null, status: 401, reason: 'wrong_password' }),
    ]);
    const unknown = await audited('POST', '/api/auth/login/', { body: { username: `ghost_${randomUUID()}`, password: PASSWORD } });
    expect(unknown.events).toEqual([expect.objectContaining({ action: 'login_failed', resource_id: null, reason: 'unknown_user' })]);

    const login = await audited('POST', '/api/auth/login/', { body: { username: input.username, password: PASSWORD } });
    const sid = sessionOf(login.res.body.access);
    expect(login.events).toEqual([
      expect.objectContaining({ action: 'login_succeeded', actor_id: userId, session_id: sid, resource_id: userId, status: 200 }),
    ]);

    const refreshed = await audited('POST', '/api/auth/refresh/', { body: { refresh: login.res.body.refresh } });
    expect(refreshed.events).toEqual([expect.objectContaining({ action: 'token_refreshed', actor_id: userId, session_id: sid, status: 200 })]);
    const reused = await audited('POST', '/api/auth/refresh/', { body: { refresh: login.res.body.refresh } });
    expect(reused.events).toEqual([
      expect.objectContaining({ action: 'refresh_reuse_detected', actor_id: userId, session_id: sid, status: 401 }),
    ]);

    const again = await t.http.post('/api/auth/login/', { username: input.username, password: PASSWORD });
    const changed = await audited('POST', '/api/auth/password/', {
      token: again.body.access,
      body: { old_password: PASSWORD, new_password: 'Another-Granite-Meadow-88' },
    });
    expect(changed.events).toEqual([expect.objectContaining({ action: 'password_changed', resource_id: userId, actor_id: userId, status: 204 })]);

    const third = await t.http.post('/api/auth/login/', { username: input.username, password: 'Another-Granite-Meadow-88' });
    const out = await audited('POST', '/api/auth/logout/', { body: { refresh: third.body.refresh } });
    expect(out.events).toEqual([
      expect.objectContaining({ action: 'logout', actor_id: userId, session_id: sessionOf(third.body.access), status: 204 }),
    ]);
  });

  it('doctor changes, and a refused one', async () => {
    const created = await audited('POST', '/api/doctors/', { token: alice.access, body: buildDoctor() });
    const id = created.res.body.id as string;
    expect(created.events).toEqual([expect.objectContaining({ action: 'create', resource_type: 'doctor', resource_id: id, status: 201 })]);
    const updated = await audited('PATCH', `/api/doctors/${id}/`, { token: alice.access, body: { phone: '5559876543' } });
    expect(updated.events).toEqual([expect.objectContaining({ action: 'update', resource_id: id, status: 200 })]);
    const refused = await audited('DELETE', `/api/doctors/${id}/`, { token: bob.access });
    expect(refused.events).toEqual([
      expect.objectContaining({ action: 'delete', actor_id: bob.id, resource_id: id, status: 403, reason: 'forbidden' }),
    ]);
    const removed = await audited('DELETE', `/api/doctors/${id}/`, { token: alice.access });
    expect(removed.events).toEqual([expect.objectContaining({ action: 'delete', resource_id: id, status: 204 })]);
  });

  it('an admin changing a user is recorded with what changed', async () => {
    const admin = await createAdmin(t);
    const target = await createUser(t.http);
    const res = await audited('PATCH', `/api/admin/users/${target.id}/`, { token: admin.access, body: { is_active: false } });
    expect(res.events).toEqual([
      expect.objectContaining({ action: 'user_changed', actor_id: admin.id, resource_id: target.id, status: 200, reason: 'is_active=false' }),
    ]);
  });

  it('the chain stays intact through all of it', async () => {
    expect(await t.app.get(AuditChainService).verify()).toMatchObject({ ok: true });
  });
});

describe('GET /api/admin/audit-events/ (e2e)', () => {
  let t: TestApp;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let patientId: string;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await createAdmin(t);
    alice = await createUser(t.http);
    bob = await createUser(t.http);
    patientId = (await createPatient(t.http, alice.access)).id;
    await t.http.get(`/api/patients/${patientId}/`, { token: alice.access });
    await t.http.get(`/api/patients/${patientId}/`, { token: bob.access });
    // Bob's 404 is a refusal: RefusalWriter writes it in its next batch.
    await t.app.get(RefusalWriter).flush();
  });
  afterAll(() => t?.close());

  it("answers who looked at a patient, newest first, with the outcome; ids and hashes, never the patient's data", async () => {
    await t.app.get(AuditChainService).sealAll();
    const res = await t.http.get(`/api/admin/audit-events/?patient=${patientId}`, { token: admin.access });
    expect(res.status).toBe(200);
    expect(res.body.results.map((e: EventRow) => [e.actor_id, e.action, e.status])).toEqual([
      [bob.id, 'read', 404],
      [alice.id, 'read', 200],
      [alice.id, 'create', 201],
    ]);
    expect(res.body.results[0]).toMatchObject({
      reason: 'not_found',
      chain_position: expect.stringMatching(/^\d+$/),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      prev_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('filters by actor, action, status, resource and time, and pages with cursors both ways', async () => {
    const byActor = await t.http.get(`/api/admin/audit-events/?actor=${bob.id}&status=404`, { token: admin.access });
    expect(byActor.body.results).toHaveLength(1);
    const future = new Date(Date.now() + 60_000).toISOString();
    const none = await t.http.get(`/api/admin/audit-events/?since=${future}`, { token: admin.access });
    expect(none.body.results).toEqual([]);
    const creates = await t.http.get(`/api/admin/audit-events/?action=create&resource_type=patient&resource_id=${patientId}`, {
      token: admin.access,
    });
    expect(creates.body.results.map((e: EventRow) => e.actor_id)).toEqual([alice.id]);

    const first = await t.http.get('/api/admin/audit-events/?page_size=2', { token: admin.access });
    const second = await t.http.get(new URL(first.body.next).pathname + new URL(first.body.next).search, { token: admin.access });
    const seqs = [...first.body.results, ...second.body.results].map((e: { seq: string }) => Number(e.seq));
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(new Set(seqs).size).toBe(seqs.length);
    const back = await t.http.get(new URL(second.body.previous).pathname + new URL(second.body.previous).search, {
      token: admin.access,
    });
    expect(back.body.results.map((e: { seq: string }) => e.seq)).toEqual(first.body.results.map((e: { seq: string }) => e.seq));
  });

  it('refuses bad filters (400) and non-admins (403)', async () => {
    const bad = await t.http.get('/api/admin/audit-events/?actor=x&action=peek&status=99&since=yesterday', { token: admin.access });
    expectProblem(bad, 400, ['actor', 'action', 'status', 'since']);
    expectProblem(await t.http.get('/api/admin/audit-events/', { token: alice.access }), 403);
  });
});

describe('GET /api/admin/audit-events/?patient=: every event that disclosed the patient, lists included (e2e)', () => {
  let t: TestApp;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let patientId: string;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await createAdmin(t);
    alice = await createUser(t.http);
    bob = await createUser(t.http);
    patientId = (await createPatient(t.http, alice.access)).id;
    const doctor = await createDoctor(t.http, alice.access);
    expect((await t.http.post('/api/mappings/', { patient: patientId, doctor: doctor.id }, { token: alice.access })).status).toBe(201);
    await createPatient(t.http, bob.access);
  });
  afterAll(() => t?.close());

  it('finds the owner’s patient list, the admin patient list, the admin mapping list and the owner’s mapping list', async () => {
    const lists: Array<[TestUser, string, string]> = [
      [alice, '/api/patients/', 'patient'],
      [alice, '/api/mappings/', 'mapping'],
      [admin, '/api/admin/patients/', 'patient'],
      [admin, '/api/admin/mappings/', 'mapping'],
      [alice, `/api/mappings/${patientId}/`, 'mapping'],
    ];
    for (const [user, path] of lists) expect((await t.http.get(path, { token: user.access })).status).toBe(200);
    // Bob's own list does not disclose Alice's patient.
    expect((await t.http.get('/api/patients/', { token: bob.access })).status).toBe(200);
    await t.app.get(AuditChainService).sealAll();

    const res = await t.http.get(`/api/admin/audit-events/?patient=${patientId}&action=list`, { token: admin.access });
    expect(res.status).toBe(200);
    expect(res.body.results.map((e: EventRow) => [e.actor_id, e.resource_type])).toEqual(
      [...lists].reverse().map(([user, , type]) => [user.id, type]),
    );
    // Besides the lists: the patient's creation and its mapping's.
    const all = await t.http.get(`/api/admin/audit-events/?patient=${patientId}&page_size=100`, { token: admin.access });
    expect(all.body.results.map((e: EventRow) => e.action).sort()).toEqual(['create', 'create', ...lists.map(() => 'list')].sort());
    // Bob's list is not among them, and it is found through Bob's patient instead.
    expect(all.body.results.map((e: EventRow) => e.actor_id)).not.toContain(bob.id);
  });

  it('answers through the GIN index on patient_ids, not a scan', async () => {
    await t.dataSource.query(
      `INSERT INTO audit_events (action, status, resource_type, patient_ids)
       SELECT 'list', 200, 'patient', ARRAY[gen_random_uuid(), gen_random_uuid()] FROM generate_series(1, 3000)`,
    );
    await t.dataSource.query('ANALYZE audit_events');
    const page = pageRequest({}, parseOrdering(undefined, SEQ_ORDER, '-seq'), t.app.get(CursorCodec), 'audit-events', { id: admin.id, role: 'admin' });
    const [sql, params] = t.app.get(AuditEventsRepository).pageQuery({ patient: patientId }, page).getQueryAndParameters();
    // A test database is small enough for a scan to look cheaper: forbid scans, so the plan shows whether the
    // filter can use the index at all (a predicate the GIN index cannot serve would still scan).
    const [row] = await t.dataSource.transaction(async (m) => {
      await m.query('SET LOCAL enable_seqscan = off');
      return m.query(`EXPLAIN (FORMAT JSON) ${sql}`, params);
    });
    expect(JSON.stringify(row['QUERY PLAN'])).toContain('"Index Name":"audit_events_patient_ids_idx"');
  });
});

describe('Audit trail: fail closed (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await createUser(t.http);
  });
  afterAll(() => t?.close());

  it('when the event cannot be written: reads return 503 without the data, writes 503 and change nothing', async () => {
    const patient = await createPatient(t.http, alice.access, { name: 'Withheld Person' });
    await t.dataSource.query(`ALTER TABLE audit_events RENAME TO audit_events_offline`);
    try {
      const read = await t.http.get(`/api/patients/${patient.id}/`, { token: alice.access });
      expectProblem(read, 503);
      expect(read.headers.get('retry-after')).toBe('2');
      expect(read.text).not.toContain('Withheld');

      const list = await t.http.get('/api/patients/', { token: alice.access });
      expectProblem(list, 503);
      expect(list.text).not.toContain('Withheld');

      const write = await t.http.post('/api/patients/', { name: 'Never Stored', age: 30, gender: 'male' }, { token: alice.access });
      expectProblem(write, 503);
      const del = await t.http.delete(`/api/patients/${patient.id}/`, { token: alice.access });
      expectProblem(del, 503);
    } finally {
      await t.dataSource.query(`ALTER TABLE audit_events_offline RENAME TO audit_events`);
    }
    const rows = await t.dataSource.query(`SELECT name FROM patients WHERE owner_id = $1 ORDER BY name`, [alice.id]);
    expect(rows).toEqual([{ name: 'Withheld Person' }]);
    expect((await t.http.get(`/api/patients/${patient.id}/`, { token: alice.access })).status).toBe(200);
  });
});
