import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RefusalWriter } from '../src/audit/refusal-writer.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildDoctor, buildPatient, createAdmin, createDoctor, createPatient, createUser, type TestUser } from './utils/factories.js';
import type { HttpResponse } from './utils/http.js';
import { expectProblem } from './utils/problem.js';

/**
 * Versions and conditional requests (RFC 9110, section 13) on patients and
 * doctors: `version` in every body, `ETag: W/"<version>"` on single-record
 * answers, If-Match and If-None-Match checked by the write's own statement,
 * 304 for a GET of an unchanged record, 412 with the current version, 428
 * when REQUIRE_IF_MATCH is on. Clients that send none of these headers see
 * what they saw before, plus the `version` field.
 */
describe('Versions and conditional requests (e2e)', () => {
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

  const etag = (res: HttpResponse) => res.headers.get('etag');
  const ifMatch = (value: string) => ({ 'if-match': value });

  describe('patients', () => {
    it('a create answers version 1 and ETag W/"1"; each change moves both by one', async () => {
      const created = await t.http.post('/api/patients/', buildPatient({ name: 'Ada Lovelace' }), { token: alice.access });
      expect(created.status).toBe(201);
      expect(created.body.version).toBe(1);
      expect(etag(created)).toBe('W/"1"');

      const read = await t.http.get(`/api/patients/${created.body.id}/`, { token: alice.access });
      expect(read.body.version).toBe(1);
      expect(etag(read)).toBe('W/"1"');

      const patched = await t.http.patch(`/api/patients/${created.body.id}/`, { age: 37 }, { token: alice.access });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ version: 2, age: 37 });
      expect(etag(patched)).toBe('W/"2"');

      const put = await t.http.put(`/api/patients/${created.body.id}/`, buildPatient({ name: 'Ada King' }), { token: alice.access });
      expect(put.body.version).toBe(3);
      expect(etag(put)).toBe('W/"3"');

      const list = await t.http.get('/api/patients/?page_size=100', { token: alice.access });
      expect(list.body.results.find((p: { id: string }) => p.id === created.body.id).version).toBe(3);
      // A list is not one record: no ETag.
      expect(etag(list)).toBeNull();
    });

    it('If-None-Match naming the current version: 304 with the ETag and no body; another version: 200', async () => {
      const p = await createPatient(t.http, alice.access);
      for (const value of ['W/"1"', '"1"', '*', 'W/"7", W/"1"']) {
        const res = await t.http.get(`/api/patients/${p.id}/`, { token: alice.access, headers: { 'if-none-match': value } });
        expect({ value, status: res.status, text: res.text, etag: etag(res) }).toEqual({ value, status: 304, text: '', etag: 'W/"1"' });
        expect(res.headers.get('content-type')).toBeNull();
      }
      const head = await t.http.request('HEAD', `/api/patients/${p.id}/`, { token: alice.access, headers: { 'if-none-match': 'W/"1"' } });
      expect({ status: head.status, etag: etag(head) }).toEqual({ status: 304, etag: 'W/"1"' });
      const stale = await t.http.get(`/api/patients/${p.id}/`, { token: alice.access, headers: { 'if-none-match': 'W/"2"' } });
      expect(stale.status).toBe(200);
      expect(stale.body.id).toBe(p.id);
    });

    it('a stale If-Match: 412 with the current version (body and ETag), and nothing changes', async () => {
      const p = await createPatient(t.http, alice.access, { name: 'Grace Hopper', age: 40 });
      await t.http.patch(`/api/patients/${p.id}/`, { age: 41 }, { token: alice.access });

      for (const [method, body] of [
        ['PATCH', { age: 99 }],
        ['PUT', buildPatient({ name: 'Someone Else', age: 99 })],
        ['DELETE', undefined],
      ] as const) {
        const res = await t.http.request(method, `/api/patients/${p.id}/`, { token: alice.access, body, headers: ifMatch('W/"1"') });
        expectProblem(res, 412);
        expect(res.body.current_version).toBe(2);
        expect(etag(res)).toBe('W/"2"');
      }
      const after = await t.http.get(`/api/patients/${p.id}/`, { token: alice.access });
      expect(after.body).toMatchObject({ name: 'Grace Hopper', age: 41, version: 2 });
    });

    it('If-Match with the current version, a list holding it, its strong form or *: the change is made', async () => {
      const p = await createPatient(t.http, alice.access);
      const steps: Array<[string, number]> = [
        ['W/"1"', 2],
        ['W/"9", W/"2"', 3],
        ['"3"', 4],
        ['*', 5],
      ];
      for (const [value, version] of steps) {
        const res = await t.http.patch(`/api/patients/${p.id}/`, { age: version }, { token: alice.access, headers: ifMatch(value) });
        expect({ value, status: res.status, version: res.body.version }).toEqual({ value, status: 200, version });
      }
      const removed = await t.http.delete(`/api/patients/${p.id}/`, { token: alice.access, headers: ifMatch('W/"5"') });
      expect(removed.status).toBe(204);
      expect((await t.http.get(`/api/patients/${p.id}/`, { token: alice.access })).status).toBe(404);
    });

    it('a tag that names no version matches nothing (412); If-None-Match: * on a write is 412 (the record exists)', async () => {
      const p = await createPatient(t.http, alice.access);
      const opaque = await t.http.patch(`/api/patients/${p.id}/`, { age: 3 }, { token: alice.access, headers: ifMatch('"abc"') });
      expectProblem(opaque, 412);
      const none = await t.http.patch(`/api/patients/${p.id}/`, { age: 3 }, { token: alice.access, headers: { 'if-none-match': '*' } });
      expectProblem(none, 412);
      const other = await t.http.patch(`/api/patients/${p.id}/`, { age: 3 }, { token: alice.access, headers: { 'if-none-match': 'W/"5"' } });
      expect(other.status).toBe(200);
      expect(other.body.version).toBe(2);
    });

    it.each(['abc', 'W/abc', '"unterminated', 'W/"1" W/"2"', '"a\\"b"', ','])(
      'a malformed If-Match (%s) is 400 naming the header, and nothing changes',
      async (value) => {
        const p = await createPatient(t.http, alice.access, { age: 30 });
        const res = await t.http.patch(`/api/patients/${p.id}/`, { age: 31 }, { token: alice.access, headers: ifMatch(value) });
        expectProblem(res, 400, ['If-Match']);
        const bad = await t.http.get(`/api/patients/${p.id}/`, { token: alice.access, headers: { 'if-none-match': value } });
        expectProblem(bad, 400, ['If-None-Match']);
        expect((await t.http.get(`/api/patients/${p.id}/`, { token: alice.access })).body).toMatchObject({ age: 30, version: 1 });
      },
    );

    it("someone else's patient or a missing one stays 404 whatever If-Match says (preconditions come after visibility)", async () => {
      const p = await createPatient(t.http, alice.access);
      for (const value of ['W/"1"', 'W/"2"', '*']) {
        expectProblem(await t.http.patch(`/api/patients/${p.id}/`, { age: 1 }, { token: bob.access, headers: ifMatch(value) }), 404);
        expectProblem(await t.http.delete(`/api/patients/${p.id}/`, { token: bob.access, headers: ifMatch(value) }), 404);
        expectProblem(await t.http.patch(`/api/patients/${randomUUID()}/`, { age: 1 }, { token: alice.access, headers: ifMatch(value) }), 404);
      }
      // An admin reaches everyone's patients, conditions included.
      const stale = await t.http.patch(`/api/patients/${p.id}/`, { age: 1 }, { token: admin.access, headers: ifMatch('W/"2"') });
      expectProblem(stale, 412);
      const fresh = await t.http.patch(`/api/patients/${p.id}/`, { age: 1 }, { token: admin.access, headers: ifMatch('W/"1"') });
      expect(fresh.status).toBe(200);
    });

    it('50 concurrent PATCHes with the same If-Match: exactly one 200 and 49 412s; the version moves by one', async () => {
      const p = await createPatient(t.http, alice.access, { age: 20 });
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          t.http.patch(`/api/patients/${p.id}/`, { age: 21 + i }, { token: alice.access, headers: ifMatch('W/"1"') }),
        ),
      );
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 412)).toHaveLength(49);
      const winner = answers.find((r) => r.status === 200)!;
      const after = await t.http.get(`/api/patients/${p.id}/`, { token: alice.access });
      expect(after.body).toMatchObject({ version: 2, age: winner.body.age });
      for (const loser of answers.filter((r) => r.status === 412)) expect(loser.body.current_version).toBe(2);
    });

    it('without any of the new headers a client sees what it saw before (plus version): no 412, no 304', async () => {
      const p = await createPatient(t.http, alice.access);
      const first = await t.http.patch(`/api/patients/${p.id}/`, { age: 50 }, { token: alice.access });
      const second = await t.http.patch(`/api/patients/${p.id}/`, { age: 51 }, { token: alice.access });
      expect([first.status, second.status]).toEqual([200, 200]);
      expect((await t.http.get(`/api/patients/${p.id}/`, { token: alice.access })).status).toBe(200);
      expect((await t.http.delete(`/api/patients/${p.id}/`, { token: alice.access })).status).toBe(204);
    });
  });

  describe('doctors', () => {
    it('version and ETag on create, read and change; a stale If-Match is 412 for the creator and an admin', async () => {
      const created = await t.http.post('/api/doctors/', buildDoctor(), { token: alice.access });
      expect(created.body.version).toBe(1);
      expect(etag(created)).toBe('W/"1"');
      const id = created.body.id as string;
      const changed = await t.http.patch(`/api/doctors/${id}/`, { specialization: 'Oncology' }, { token: alice.access, headers: ifMatch('W/"1"') });
      expect(changed.body.version).toBe(2);
      expect(etag(changed)).toBe('W/"2"');
      for (const user of [alice, admin]) {
        const stale = await t.http.patch(`/api/doctors/${id}/`, { specialization: 'Surgery' }, { token: user.access, headers: ifMatch('W/"1"') });
        expectProblem(stale, 412);
        expect(stale.body.current_version).toBe(2);
      }
      const notModified = await t.http.get(`/api/doctors/${id}/`, { token: bob.access, headers: { 'if-none-match': 'W/"2"' } });
      expect(notModified.status).toBe(304);
      const read = await t.http.get(`/api/doctors/${id}/`, { token: bob.access });
      expect(read.body).toMatchObject({ specialization: 'Oncology', version: 2 });
    });

    it("someone else's doctor: 403 before any precondition; a missing one: 404", async () => {
      const d = await createDoctor(t.http, alice.access);
      for (const value of ['W/"1"', 'W/"5"']) {
        expectProblem(await t.http.patch(`/api/doctors/${d.id}/`, { name: 'Dr. X' }, { token: bob.access, headers: ifMatch(value) }), 403);
        expectProblem(await t.http.delete(`/api/doctors/${d.id}/`, { token: bob.access, headers: ifMatch(value) }), 403);
      }
      expectProblem(await t.http.delete(`/api/doctors/${randomUUID()}/`, { token: alice.access, headers: ifMatch('W/"1"') }), 404);
      const staleDelete = await t.http.delete(`/api/doctors/${d.id}/`, { token: alice.access, headers: ifMatch('W/"2"') });
      expectProblem(staleDelete, 412);
      expect((await t.http.delete(`/api/doctors/${d.id}/`, { token: alice.access, headers: ifMatch('W/"1"') })).status).toBe(204);
    });

    it('20 concurrent PUTs with the same If-Match: one 200, the rest 412', async () => {
      const d = await createDoctor(t.http, alice.access);
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => t.http.put(`/api/doctors/${d.id}/`, buildDoctor(), { token: alice.access, headers: ifMatch('W/"1"') })),
      );
      expect(answers.map((r) => r.status).sort()).toEqual([200, ...Array(19).fill(412)]);
    });
  });

  describe('the audit trail', () => {
    async function eventsOf(requestId: string) {
      await t.app.get(RefusalWriter).flush();
      for (let i = 0; i < 40; i++) {
        const rows: Array<{ action: string; status: number; reason: string | null; resource_id: string | null }> = await t.dataSource.query(
          `SELECT action, status, reason, resource_id FROM audit_events WHERE request_id = $1 ORDER BY seq`,
          [requestId],
        );
        if (rows.length > 0) return rows;
        await new Promise((r) => setTimeout(r, 25));
      }
      return [];
    }

    it('a 412 is a refusal (precondition_failed); a 304 is a read recorded as 304', async () => {
      const p = await createPatient(t.http, alice.access);
      const refused = `cond-${randomUUID()}`;
      await t.http.patch(`/api/patients/${p.id}/`, { age: 2 }, { token: alice.access, headers: { ...ifMatch('W/"3"'), 'x-request-id': refused } });
      expect(await eventsOf(refused)).toEqual([{ action: 'update', status: 412, reason: 'precondition_failed', resource_id: p.id }]);

      const unchanged = `cond-${randomUUID()}`;
      const res = await t.http.get(`/api/patients/${p.id}/`, { token: alice.access, headers: { 'if-none-match': 'W/"1"', 'x-request-id': unchanged } });
      expect(res.status).toBe(304);
      expect(await eventsOf(unchanged)).toEqual([{ action: 'read', status: 304, reason: null, resource_id: p.id }]);
    });
  });
});

describe('REQUIRE_IF_MATCH=true (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;

  beforeAll(async () => {
    t = await createTestApp({ REQUIRE_IF_MATCH: 'true' });
    alice = await createUser(t.http);
  });
  afterAll(() => t?.close());

  it('a PUT, PATCH or DELETE without If-Match is 428 and changes nothing; with it, the change is made; reads and creates need none', async () => {
    const p = await createPatient(t.http, alice.access, { age: 10 });
    const d = await createDoctor(t.http, alice.access);
    for (const [method, path, body] of [
      ['PATCH', `/api/patients/${p.id}/`, { age: 11 }],
      ['PUT', `/api/patients/${p.id}/`, buildPatient()],
      ['DELETE', `/api/patients/${p.id}/`, undefined],
      ['PATCH', `/api/doctors/${d.id}/`, { name: 'Dr. Y' }],
      ['DELETE', `/api/doctors/${d.id}/`, undefined],
    ] as const) {
      const res = await t.http.request(method, path, { token: alice.access, body });
      expectProblem(res, 428);
    }
    expect((await t.http.get(`/api/patients/${p.id}/`, { token: alice.access })).body).toMatchObject({ age: 10, version: 1 });
    // On record as a refusal of its own kind.
    const requestId = `cond-${randomUUID()}`;
    await t.http.patch(`/api/patients/${p.id}/`, { age: 12 }, { token: alice.access, headers: { 'x-request-id': requestId } });
    await t.app.get(RefusalWriter).flush();
    const [event] = await t.dataSource.query(`SELECT action, status, reason FROM audit_events WHERE request_id = $1`, [requestId]);
    expect(event).toEqual({ action: 'update', status: 428, reason: 'precondition_required' });
    const withTag = await t.http.patch(`/api/patients/${p.id}/`, { age: 11 }, { token: alice.access, headers: { 'if-match': 'W/"1"' } });
    expect(withTag.status).toBe(200);
    const any = await t.http.delete(`/api/doctors/${d.id}/`, { token: alice.access, headers: { 'if-match': '*' } });
    expect(any.status).toBe(204);
  });
});
