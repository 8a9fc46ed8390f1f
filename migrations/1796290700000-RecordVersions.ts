import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Patients and doctors carry a version: 1 when created, one more with every
 * change, moved by the UPDATE that makes the change (`version = version + 1`
 * in the same statement), so a conditional write (If-Match) is one
 * `UPDATE ... WHERE id = $1 AND version = ANY($2)` and never a read followed
 * by a write. Existing rows start at 1. A constant default adds the column
 * without rewriting the table (PostgreSQL 11 and later).
 */
export class RecordVersions1796290700000 implements MigrationInterface {
  name = 'RecordVersions1796290700000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE patients ADD COLUMN version integer NOT NULL DEFAULT 1`);
    await q.query(`ALTER TABLE patients ADD CONSTRAINT patients_version_check CHECK (version >= 1)`);
    await q.query(`ALTER TABLE doctors ADD COLUMN version integer NOT NULL DEFAULT 1`);
    await q.query(`ALTER TABLE doctors ADD CONSTRAINT doctors_version_check CHECK (version >= 1)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE doctors DROP COLUMN version`);
    await q.query(`ALTER TABLE patients DROP COLUMN version`);
  }
}
