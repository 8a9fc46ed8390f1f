import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { createAdmin, createDoctor, createPatient, createUser, PASSWORD, type TestUser } from './utils/factories.js';
import { expectProblem } from './utils/problem.js';

type AdminPatient = { id: string; name: string; owner: string; owner_username: string };
type AdminMapping = { id: string; patient: string; doctor: string; patient_name: string; doctor_name: string; owner: string };
type AdminUser = { id: string; username: string; email: string; role: string; is_active: boolean; date_joined: string };

/** Every admin operation in the committed OpenAPI document, with a concrete path. */
function adminOperations(): Array<{ method: string; path: string }> {
  const doc = JSON.parse(readFileSync('openapi.json', 'utf8')) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/api/admin/'))
    .flatMap(([path, item]) =>
      Object.keys(item).map((method) => ({ method: method.toUpperCase(), path: `${path.replace('{id}', randomUUID())}/` })),
    );
}

/** Polls until `check` holds or `ms` pass; returns the last value seen. */
async function eventually<T>(ms: number, probe: () => Promise<T>, check: (v: T) => boolean): Promise<T> {
  const until = Date.now() + ms;
  let value = await probe();
  while (!check(value) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    value = await probe();
  }
  return value;
}

/** A fresh account's registration fields. */
function newAccount() {
  const username = `made_${randomUUID().slice(0, 8)}`;
  return { username, email: `${username}@example.org`, password: 'Quiet-Harbour-Lantern-42' };
}

describe('Admin API (e2e)', () => {
  let t: TestApp;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await createAdmin(t);
    alice = await createUser(t.http);
    bob = await createUser(t.http);
  });
  afterAll(() => t?.close());

  describe('access', () => {
    const operations = adminOperations();

    it('covers every admin route of the OpenAPI document, each under the admin tag', () => {
      expect(operations.map((o) => `${o.method} ${o.path.replace(/[0-9a-f-]{36}/, '{id}')}`).sort()).toEqual([
        'GET /api/admin/audit-events/',
        'GET /api/admin/deleted/',
        'GET /api/admin/mappings/',
        'GET /api/admin/patients/',
        'GET /api/admin/users/',
        'GET /api/admin/users/{id}/',
        'PATCH /api/admin/users/{id}/',
        'POST /api/admin/doctors/{id}/restore/',
        'POST /api/admin/patients/{id}/restore/',
        'POST /api/admin/users/',
      ]);
      const doc = JSON.parse(readFileSync('openapi.json', 'utf8'));
      for (const [path, item] of Object.entries<Record<string, { tags: string[] }>>(doc.paths)) {
        if (!path.startsWith('/api/admin/')) continue;
        for (const op of Object.values(item)) expect(op.tags).toEqual(['admin']);
      }
    });

    it.each(operations)('$method $path answers 403 to a non-admin and 401 without a token', async ({ method, path }) => {
      const body = method === 'PATCH' ? { is_active: false } : method === 'POST' ? newAccount() : undefined;
      const denied = await t.http.request(method, path, { token: alice.access, body });
      expectProblem(denied, 403);
      expect(denied.body.detail).toBe('This route is for administrators only.');
      expectProblem(await t.http.request(method, path, { body }), 401);
    });

    it('a non-admin PATCH changes nothing', async () => {
      const res = await t.http.patch(`/api/admin/users/${bob.id}/`, { role: 'admin' }, { token: alice.access });
      expectProblem(res, 403);
      const [row] = await t.dataSource.query('SELECT role, is_active FROM users WHERE id = $1', [bob.id]);
      expect(row).toEqual({ role: 'user', is_active: true });
    });
  });

  describe('GET /api/admin/patients/', () => {
    let alices: AdminPatient[];
    let bobs: AdminPatient[];

    beforeAll(async () => {
      alices = [];
      bobs = [];
      for (let i = 0; i < 3; i++) alices.push((await createPatient(t.http, alice.access, { name: `Alpha ${i}` })) as never);
      for (let i = 0; i < 2; i++) bobs.push((await createPatient(t.http, bob.access, { name: `Beta ${i}` })) as never);
    });

    it("lists every owner's patients with the owner's id and username", async () => {
      const res = await t.http.get('/api/admin/patients/?page_size=100', { token: admin.access });
      expect(res.status).toBe(200);
      const rows = res.body.results as AdminPatient[];
      for (const p of alices) {
        expect(rows.find((r) => r.id === p.id)).toMatchObject({ name: p.name, owner: alice.id, owner_username: alice.username });
      }
      for (const p of bobs) {
        expect(rows.find((r) => r.id === p.id)).toMatchObject({ name: p.name, owner: bob.id, owner_username: bob.username });
      }
    });

    it('?owner= narrows to one user, and combines with search and ordering', async () => {
      const res = await t.http.get(`/api/admin/patients/?owner=${bob.id}&ordering=name`, { token: admin.access });
      expect(res.status).toBe(200);
      expect((res.body.results as AdminPatient[]).map((r) => r.name)).toEqual(['Beta 0', 'Beta 1']);
      const search = await t.http.get(`/api/admin/patients/?owner=${alice.id}&search=pha 2`, { token: admin.access });
      expect((search.body.results as AdminPatient[]).map((r) => r.id)).toEqual([alices[2].id]);
    });

    it('pages with cursors', async () => {
      const first = await t.http.get(`/api/admin/patients/?owner=${alice.id}&page_size=2&ordering=name`, { token: admin.access });
      expect((first.body.results as AdminPatient[]).map((r) => r.name)).toEqual(['Alpha 0', 'Alpha 1']);
      const next = await t.http.get(new URL(first.body.next).pathname + new URL(first.body.next).search, {
        token: admin.access,
      });
      expect((next.body.results as AdminPatient[]).map((r) => r.name)).toEqual(['Alpha 2']);
      expect(next.body.next).toBeNull();
    });

    it('rejects a bad owner, ordering or a cursor of another list with 400', async () => {
      const bad = await t.http.get('/api/admin/patients/?owner=nope&ordering=owner', { token: admin.access });
      expectProblem(bad, 400, ['owner', 'ordering']);
      const own = await t.http.get('/api/patients/?page_size=1', { token: admin.access });
      const cursor = new URL(own.body.next).searchParams.get('cursor');
      expectProblem(await t.http.get(`/api/admin/patients/?page_size=1&cursor=${cursor}`, { token: admin.access }), 400, [
        'cursor',
      ]);
    });
  });

  describe('GET /api/admin/mappings/', () => {
    it('lists every mapping with patient and doctor names, filterable', async () => {
      const patient = await createPatient(t.http, alice.access, { name: 'Gamma Patient' });
      const other = await createPatient(t.http, bob.access, { name: 'Delta Patient' });
      const doctor = await createDoctor(t.http, admin.access, { name: 'Dr. Epsilon' });
      const m1 = await t.http.post('/api/mappings/', { patient: patient.id, doctor: doctor.id }, { token: alice.access });
      const m2 = await t.http.post('/api/mappings/', { patient: other.id, doctor: doctor.id }, { token: bob.access });
      expect([m1.status, m2.status]).toEqual([201, 201]);

      const all = await t.http.get(`/api/admin/mappings/?doctor=${doctor.id}`, { token: admin.access });
      expect(all.status).toBe(200);
      expect(all.body.results as AdminMapping[]).toEqual([
        expect.objectContaining({ id: m2.body.id, patient_name: 'Delta Patient', doctor_name: 'Dr. Epsilon', owner: bob.id }),
        expect.objectContaining({ id: m1.body.id, patient_name: 'Gamma Patient', doctor_name: 'Dr. Epsilon', owner: alice.id }),
      ]);
      const byPatient = await t.http.get(`/api/admin/mappings/?patient=${patient.id}`, { token: admin.access });
      expect((byPatient.body.results as AdminMapping[]).map((m) => m.id)).toEqual([m1.body.id]);
      const byOwner = await t.http.get(`/api/admin/mappings/?owner=${bob.id}&doctor=${doctor.id}`, { token: admin.access });
      expect((byOwner.body.results as AdminMapping[]).map((m) => m.id)).toEqual([m2.body.id]);
    });

    it('rejects bad filters with 400', async () => {
      const res = await t.http.get('/api/admin/mappings/?patient=1&doctor=x&owner=y&page_size=0', { token: admin.access });
      expectProblem(res, 400, ['patient', 'doctor', 'owner', 'page_size']);
    });
  });

  describe('users', () => {
    it('an admin makes an account (registration rules, role user unless asked); it signs in; the make is audited', async () => {
      const input = newAccount();
      const res = await t.http.post('/api/admin/users/', input, { token: admin.access });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: expect.any(String), username: input.username, email: input.email, role: 'user', is_active: true, date_joined: expect.any(String) });
      const login = await t.http.post('/api/auth/login/', { username: input.username, password: input.password });
      expect(login.status).toBe(200);
      const [event] = await t.dataSource.query(`SELECT actor_id, status FROM audit_events WHERE action = 'create' AND resource_type = 'user' AND resource_id = $1`, [res.body.id]);
      expect(event).toEqual({ actor_id: admin.id, status: 201 });

      const second = newAccount();
      const asAdmin = await t.http.post('/api/admin/users/', { ...second, role: 'admin' }, { token: admin.access });
      expect(asAdmin.body.role).toBe('admin');
    });

    it('refuses what registration refuses, and a taken name or email (409), making nothing', async () => {
      const input = newAccount();
      expectProblem(await t.http.post('/api/admin/users/', { ...input, password: 'password' }, { token: admin.access }), 400, ['password']);
      expectProblem(await t.http.post('/api/admin/users/', { ...input, role: 'root' }, { token: admin.access }), 400, ['role']);
      expectProblem(await t.http.post('/api/admin/users/', { ...input, is_active: false }, { token: admin.access }), 400, ['is_active']);
      expectProblem(await t.http.post('/api/admin/users/', { ...input, username: 'x' }, { token: admin.access }), 400, ['username']);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE email = $1`, [input.email]);
      expect(n).toBe(0);
      expectProblem(await t.http.post('/api/admin/users/', { ...input, username: alice.username.toUpperCase() }, { token: admin.access }), 409);
      expectProblem(await t.http.post('/api/admin/users/', { ...input, email: alice.email.toUpperCase() }, { token: admin.access }), 409);
    });

    it('lists accounts by username, with search and filters, never a password hash', async () => {
      const res = await t.http.get(`/api/admin/users/?search=${alice.username.slice(5)}`, { token: admin.access });
      expect(res.status).toBe(200);
      expect(res.body.results).toEqual([
        { id: alice.id, username: alice.username, email: alice.email, role: 'user', is_active: true, date_joined: expect.any(String) },
      ]);
      const byEmail = await t.http.get(`/api/admin/users/?search=${encodeURIComponent(bob.email)}`, { token: admin.access });
      expect((byEmail.body.results as AdminUser[]).map((u) => u.id)).toEqual([bob.id]);
      const admins = await t.http.get('/api/admin/users/?role=admin&is_active=true', { token: admin.access });
      expect((admins.body.results as AdminUser[]).map((u) => u.id)).toContain(admin.id);
      expect((admins.body.results as AdminUser[]).every((u) => u.role === 'admin' && u.is_active)).toBe(true);

      const all = await t.http.get('/api/admin/users/?page_size=100', { token: admin.access });
      const names = (all.body.results as AdminUser[]).map((u) => u.username);
      expect(names).toEqual([...names].sort());
      expect(all.text).not.toMatch(/argon2|password/i);
    });

    it('rejects bad list parameters with 400', async () => {
      const res = await t.http.get('/api/admin/users/?is_active=yes&role=root&ordering=email', { token: admin.access });
      expectProblem(res, 400, ['is_active', 'role', 'ordering']);
    });

    it('search follows the patient and doctor lists’ rules: no letter or digit is 400, 1-2 characters a prefix, 3 a substring', async () => {
      for (const search of ['%'.repeat(200), '_', '%_%', '   ', '!?', '\\']) {
        expectProblem(await t.http.get(`/api/admin/users/?${new URLSearchParams({ search })}`, { token: admin.access }), 400, ['search']);
      }
      const ids = async (search: string) =>
        ((await t.http.get(`/api/admin/users/?${new URLSearchParams({ search, page_size: '100' })}`, { token: admin.access })).body
          .results as AdminUser[]).map((u) => u.id);
      // buildUser names accounts user_<8 hex>: a middle substring of 3 finds alice, the same 2 characters do not.
      expect(await ids(alice.username.slice(5, 8))).toContain(alice.id);
      expect(await ids('us')).toEqual(expect.arrayContaining([alice.id, bob.id]));
      expect(await ids(alice.username.slice(6, 8))).not.toContain(alice.id);
      expect((await t.http.get('/api/admin/users/?search=', { token: admin.access })).status).toBe(200);
    });

    it('reads one account; an unknown or malformed id is 404', async () => {
      const res = await t.http.get(`/api/admin/users/${bob.id}/`, { token: admin.access });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: bob.id, username: bob.username, role: 'user', is_active: true });
      expectProblem(await t.http.get(`/api/admin/users/${randomUUID()}/`, { token: admin.access }), 404);
      expectProblem(await t.http.get('/api/admin/users/not-a-uuid/', { token: admin.access }), 404);
    });

    it('PATCH validates the body: unknown fields, wrong types, bad role', async () => {
      const res = await t.http.patch(
        `/api/admin/users/${bob.id}/`,
        { is_active: 'no', role: 'root', username: 'mallory' },
        { token: admin.access },
      );
      expectProblem(res, 400, ['is_active', 'role', 'username']);
      expectProblem(await t.http.patch(`/api/admin/users/${randomUUID()}/`, { is_active: true }, { token: admin.access }), 404);
      const [row] = await t.dataSource.query('SELECT username, role FROM users WHERE id = $1', [bob.id]);
      expect(row).toEqual({ username: bob.username, role: 'user' });
    });

    it('deactivating ends every session: tokens stop working within 5 s, refresh and login fail; reactivating lets them log in', async () => {
      const victim = await createUser(t.http);
      expect((await t.http.get('/api/patients/', { token: victim.access })).status).toBe(200);

      const res = await t.http.patch(`/api/admin/users/${victim.id}/`, { is_active: false }, { token: admin.access });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: victim.id, is_active: false, role: 'user' });

      const started = Date.now();
      const after = await eventually(5000, () => t.http.get('/api/patients/', { token: victim.access }), (r) => r.status === 401);
      expectProblem(after, 401);
      expect(Date.now() - started).toBeLessThan(5000);
      expectProblem(await t.http.post('/api/auth/refresh/', { refresh: victim.refresh }), 401);
      expectProblem(await t.http.post('/api/auth/login/', { username: victim.username, password: PASSWORD }), 401);
      const [open] = await t.dataSource.query('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [
        victim.id,
      ]);
      expect(open.n).toBe(0);

      const back = await t.http.patch(`/api/admin/users/${victim.id}/`, { is_active: true }, { token: admin.access });
      expect(back.body.is_active).toBe(true);
      expect((await t.http.post('/api/auth/login/', { username: victim.username, password: PASSWORD })).status).toBe(200);
    });

    it('promoting a user opens the admin routes to them; demoting closes them again', async () => {
      const staff = await createUser(t.http);
      const up = await t.http.patch(`/api/admin/users/${staff.id}/`, { role: 'admin' }, { token: admin.access });
      expect(up.body).toMatchObject({ role: 'admin', is_active: true });
      const open = await eventually(5000, () => t.http.get('/api/admin/users/', { token: staff.access }), (r) => r.status === 200);
      expect(open.status).toBe(200);

      const down = await t.http.patch(`/api/admin/users/${staff.id}/`, { role: 'user' }, { token: admin.access });
      expect(down.body.role).toBe('user');
      const closed = await eventually(5000, () => t.http.get('/api/admin/users/', { token: staff.access }), (r) => r.status === 403);
      expectProblem(closed, 403);
    });

    it('the last active admin can be neither demoted nor deactivated (409), and nothing changes', async () => {
      const other = await createAdmin(t);
      // Leave exactly one active admin: `other`.
      await t.dataSource.query("UPDATE users SET is_active = false WHERE role = 'admin' AND id <> $1", [other.id]);
      try {
        for (const change of [{ role: 'user' }, { is_active: false }, { role: 'user', is_active: false }]) {
          const res = await t.http.patch(`/api/admin/users/${other.id}/`, change, { token: other.access });
          expectProblem(res, 409);
          expect(res.body.detail).toMatch(/last active admin/);
        }
        const [row] = await t.dataSource.query('SELECT role, is_active FROM users WHERE id = $1', [other.id]);
        expect(row).toEqual({ role: 'admin', is_active: true });
        // Changing nothing, or keeping the role, is fine.
        expect((await t.http.patch(`/api/admin/users/${other.id}/`, { role: 'admin' }, { token: other.access })).status).toBe(200);
      } finally {
        await t.dataSource.query("UPDATE users SET is_active = true WHERE role = 'admin'");
      }
    });

    it('two admins demoting each other at once leave one admin: one 200, one 409', async () => {
      const a = await createAdmin(t);
      const b = await createAdmin(t);
      await t.dataSource.query("UPDATE users SET is_active = false WHERE role = 'admin' AND id NOT IN ($1, $2)", [a.id, b.id]);
      try {
        // Both sessions are checked (and cached as admin) first, so both requests reach the service.
        for (const who of [a, b]) expect((await t.http.get('/api/admin/users/', { token: who.access })).status).toBe(200);
        const results = await Promise.all([
          t.http.patch(`/api/admin/users/${b.id}/`, { role: 'user' }, { token: a.access }),
          t.http.patch(`/api/admin/users/${a.id}/`, { role: 'user' }, { token: b.access }),
        ]);
        expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
        const [count] = await t.dataSource.query(
          "SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND is_active AND id IN ($1, $2)",
          [a.id, b.id],
        );
        expect(count.n).toBe(1);
      } finally {
        await t.dataSource.query("UPDATE users SET is_active = true WHERE role = 'admin'");
      }
    });
  });
});
