import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { captureSql } from './utils/capture-sql.js';
import { createDoctor, createPatient, createUser, type TestUser } from './utils/factories.js';

/**
 * A page costs the same SQL whatever its size and position: one query per
 * page (plus the guard's session check when its cache is cold), no N+1.
 * Counted at TypeORM's query runner, which every query of the app goes through.
 */
describe('Queries per page (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;
  let patientId: string;
  let queries: string[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    alice = await createUser(t.http);
    const patients = [];
    for (let i = 0; i < 3; i++) patients.push(await createPatient(t.http, alice.access, { name: `Counted ${i}` }));
    patientId = patients[0].id;
    for (let i = 0; i < 6; i++) {
      const doctor = await createDoctor(t.http, alice.access);
      await t.http.post('/api/mappings/', { patient: patientId, doctor: doctor.id }, { token: alice.access });
    }
    // Many more rows of the same owner, added in one statement.
    await t.dataSource.query(
      `INSERT INTO patients (owner_id, name, age, gender) SELECT $1, 'Bulk ' || g, g % 150, 'other' FROM generate_series(1, 300) g`,
      [alice.id],
    );

    captureSql(t, ({ sql }) => queries.push(sql));
  });
  afterAll(() => t?.close());

  /** Queries made by one request, with the guard's session cache already warm. */
  async function queriesFor(path: string): Promise<{ status: number; count: number; next: string | null }> {
    await t.http.get('/api/auth/me/', { token: alice.access });
    queries = [];
    const res = await t.http.get(path, { token: alice.access });
    // Not the page's own: the guard's session check (its 2 s cache can expire between the two requests on a
    // loaded machine), the audit event every list writes, and the audit sealer's tick. Nor the transaction a
    // search runs in on PostgreSQL for its own statement timeout (issue 11, item 9): control, not a query.
    const pageQueries = queries.filter(
      (sql) =>
        !/FROM sessions s JOIN users u|INSERT INTO audit_events|audit_seal\(/.test(sql) &&
        !/^((START TRANSACTION|BEGIN);? ?)?(SET LOCAL statement_timeout = \d+)?$|^(COMMIT|ROLLBACK)$/.test(sql.trim()),
    );
    return { status: res.status, count: pageQueries.length, next: res.body?.next ?? null };
  }

  it.each([
    '/api/patients/?page_size=2',
    '/api/patients/?page_size=100',
    '/api/patients/?page_size=100&ordering=name&search=bulk',
    '/api/patients/?page_size=50&ordering=-age&min_age=10&max_age=90',
    '/api/doctors/?page_size=100',
    '/api/mappings/?page_size=100',
  ])('%s: one query, on the first page and deep in the list', async (path) => {
    const first = await queriesFor(path);
    expect(first).toMatchObject({ status: 200, count: 1 });
    if (first.next) {
      const next = new URL(first.next);
      const deeper = await queriesFor(`${next.pathname}${next.search}`);
      expect(deeper).toMatchObject({ status: 200, count: 1 });
    }
  });

  it("a patient's doctors: one query to check the patient, one for the page with its doctors joined", async () => {
    const res = await queriesFor(`/api/mappings/${patientId}/?page_size=100`);
    expect(res).toMatchObject({ status: 200, count: 2 });
  });
});
