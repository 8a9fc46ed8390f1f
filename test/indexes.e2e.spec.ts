import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { captureSql } from './utils/capture-sql.js';
import { createAdmin, createDoctor, createPatient, createUser, type TestUser } from './utils/factories.js';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/**
 * Every list query is served by an index: the SQL the app actually sends for
 * each list is EXPLAINed over tables big enough that PostgreSQL's planner
 * would rather not scan them, and no plan may read a table sequentially.
 */
describe('List queries use indexes (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;
  let admin: TestUser;
  let patientId: string;
  let captured: Array<{ sql: string; params: unknown[] }> = [];

  beforeAll(async () => {
    t = await createTestApp();
    alice = await createUser(t.http);
    admin = await createAdmin(t);
    const other = await createUser(t.http);
    patientId = (await createPatient(t.http, alice.access)).id;
    const doctor = await createDoctor(t.http, alice.access, { specialization: 'Cardiology' });
    await t.http.post('/api/mappings/', { patient: patientId, doctor: doctor.id }, { token: alice.access });

    // Tens of thousands of rows across owners, as SQL, in slices: each statement
    // stays well inside the app's 2.5 s query deadline on a slow CI machine.
    const SLICE = 5000;
    for (let from = 1; from <= 30000; from += SLICE) {
      await t.dataSource.query(
        `INSERT INTO patients (owner_id, name, age, gender)
         SELECT CASE WHEN g % 10 = 0 THEN $1::uuid ELSE $2::uuid END, 'Bulk patient ' || g, g % 151, 'other'
           FROM generate_series($3::int, $4::int) g`,
        [alice.id, other.id, from, from + SLICE - 1],
      );
    }
    for (let from = 1; from <= 20000; from += SLICE) {
      await t.dataSource.query(
        `INSERT INTO doctors (name, specialization, email, phone)
         SELECT 'Dr bulk ' || g, (ARRAY['Cardiology','Neurology','Oncology','Dermatology'])[1 + g % 4], 'bulk' || g || '@clinic.example', '0123456789'
           FROM generate_series($1::int, $2::int) g`,
        [from, from + SLICE - 1],
      );
    }
    const patientIds: Array<{ id: string; owner_id: string }> = await t.dataSource.query('SELECT id, owner_id FROM patients ORDER BY id');
    const doctorIds: Array<{ id: string }> = await t.dataSource.query('SELECT id FROM doctors ORDER BY id');
    const pairs = Math.min(patientIds.length, doctorIds.length);
    for (let from = 0; from < pairs; from += SLICE) {
      const slice = patientIds.slice(from, Math.min(from + SLICE, pairs));
      await t.dataSource.query(
        `INSERT INTO patient_doctor_mappings (patient_id, owner_id, doctor_id)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[])
         ON CONFLICT DO NOTHING`,
        [slice.map((p) => p.id), slice.map((p) => p.owner_id), doctorIds.slice(from, from + slice.length).map((d) => d.id)],
      );
    }
    await t.dataSource.query('ANALYZE');

    captureSql(t, (statement) => captured.push(statement));
  }, 120_000);
  afterAll(() => t?.close());

  /** The plan of the last SELECT a request made. */
  async function planOf(path: string, token: string): Promise<PlanNode[]> {
    captured = [];
    const res = await t.http.get(path, { token });
    expect(res.status).toBe(200);
    const select = [...captured].reverse().find((q) => /^\s*SELECT/i.test(q.sql) && !/FROM "?sessions/i.test(q.sql));
    if (!select) throw new Error(`no SELECT captured for ${path}`);
    const rows: Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }> = await t.dataSource.query(
      `EXPLAIN (FORMAT JSON) ${select.sql}`,
      select.params,
    );
    const plan = rows[0]['QUERY PLAN'];
    return nodes((typeof plan === 'string' ? JSON.parse(plan) : plan)[0].Plan);
  }

  it.each([
    ['a user’s patients, newest first', '/api/patients/?page_size=20', 'alice'],
    ['… by name', '/api/patients/?ordering=name', 'alice'],
    ['… by age, with a range', '/api/patients/?ordering=-age&min_age=30&max_age=40', 'alice'],
    ['… searching a name', '/api/patients/?search=patient%2012', 'alice'],
    ['every patient, for an admin', '/api/patients/?page_size=20', 'admin'],
    ['an admin, by name', '/api/patients/?ordering=-name', 'admin'],
    ['doctors, newest first', '/api/doctors/', 'alice'],
    ['doctors by specialization', '/api/doctors/?ordering=specialization', 'alice'],
    ['doctors searching', '/api/doctors/?search=bulk%20199', 'alice'],
    ['doctors of one specialization', '/api/doctors/?specialization=cardiology', 'alice'],
    ['a user’s mappings', '/api/mappings/', 'alice'],
    ['every mapping, for an admin', '/api/mappings/', 'admin'],
  ])('%s (%s)', async (_label, path, who) => {
    const token = who === 'admin' ? admin.access : alice.access;
    const plan = await planOf(path, token);
    const seqScans = plan.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name']);
    expect({ path, seqScans }).toEqual({ path, seqScans: [] });
  });

  it('a patient’s doctors', async () => {
    const plan = await planOf(`/api/mappings/${patientId}/`, alice.access);
    expect(plan.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name'])).toEqual([]);
  });
});
