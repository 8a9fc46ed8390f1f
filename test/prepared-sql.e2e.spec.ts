import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { QueryFailedError } from 'typeorm';
import { PreparedSql } from '../src/database/prepared-sql.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { createPatient, createUser } from './utils/factories.js';

/**
 * The hot statements run as named prepared statements on PostgreSQL (parsed
 * and planned once per connection), and through TypeORM on PGlite. One pool
 * connection, so pg_prepared_statements (which lists the current session's)
 * shows what the requests prepared.
 */
describe('Prepared statements on the hot paths (e2e)', () => {
  let t: TestApp;
  let sql: PreparedSql;
  const postgres = !!process.env.TEST_DATABASE_URL;

  beforeAll(async () => {
    t = await createTestApp({ DB_POOL_SIZE: '1' });
    sql = t.app.get(PreparedSql);
  });
  afterAll(() => t?.close());

  it('a patient read prepares its lookup and its audit insert once, then reuses them', async () => {
    const alice = await createUser(t.http);
    const patient = await createPatient(t.http, alice.access);
    for (let i = 0; i < 3; i++) {
      const res = await t.http.get(`/api/patients/${patient.id}/`, { token: alice.access });
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(patient.id);
    }
    const prepared = await sql.query<{ name: string; statement: string }>(
      `SELECT name, statement FROM pg_prepared_statements ORDER BY name`,
      [],
    );
    const statements = prepared.map((p) => p.statement);
    if (postgres) {
      expect(statements).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/FROM patients WHERE id = \$1 AND owner_id = \$2 AND deleted_at IS NULL$/),
          expect.stringMatching(/^INSERT INTO audit_events/),
        ]),
      );
      // One entry per text, however many requests used it.
      expect(new Set(statements).size).toBe(statements.length);
    } else {
      // PGlite: no wire protocol to plan over; the statements run unnamed through TypeORM.
      expect(statements).toEqual([]);
    }
  });

  it('a failing statement is a QueryFailedError with its SQLSTATE, like any TypeORM query', async () => {
    const error = await sql.query(`SELECT 1 / $1::int AS x`, [0]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryFailedError);
    expect((error as QueryFailedError & { driverError: { code: string } }).driverError.code).toBe('22012');
  });
});
