import type { MigrationInterface, QueryRunner } from 'typeorm';
import { allowedActions, setAllowedActions } from './1796290300000-Mfa.js';

const ACTIONS = ['restore', 'purge'];

/**
 * Deletes that can be undone (issue 12): a DELETE of a patient or a doctor
 * marks the row (deleted_at, deleted_by) instead of removing it, and every
 * read passes only rows with deleted_at IS NULL. A doctor's email is unique
 * among live doctors only: the unique index on lower(email) becomes partial,
 * so a deleted doctor's address may be used again (restoring it then answers
 * 409). A partial index per table lists the deleted rows, oldest first, for
 * the admins' Deleted list and for the purge that removes them for good after
 * DELETED_RETENTION_DAYS. The audit trail gains `restore` and `purge`.
 *
 * down() removes for good what is marked deleted (as a DELETE did before),
 * after which the old full unique index holds again.
 */
export class SoftDelete1796290900000 implements MigrationInterface {
  name = 'SoftDelete1796290900000';

  public async up(q: QueryRunner): Promise<void> {
    for (const table of ['patients', 'doctors']) {
      await q.query(`ALTER TABLE ${table} ADD COLUMN deleted_at timestamptz(3), ADD COLUMN deleted_by uuid`);
      await q.query(
        `ALTER TABLE ${table} ADD CONSTRAINT ${table}_deleted_by_fkey FOREIGN KEY (deleted_by) REFERENCES users (id) ON DELETE SET NULL`,
      );
      await q.query(`CREATE INDEX ${table}_deleted_idx ON ${table} (deleted_at, id) WHERE deleted_at IS NOT NULL`);
    }
    await q.query(`DROP INDEX doctors_email_lower_key`);
    await q.query(`CREATE UNIQUE INDEX doctors_email_lower_key ON doctors (lower(email)) WHERE deleted_at IS NULL`);
    const actions = await allowedActions(q);
    await setAllowedActions(q, [...actions, ...ACTIONS.filter((a) => !actions.includes(a))]);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM patients WHERE deleted_at IS NOT NULL`);
    await q.query(`DELETE FROM doctors WHERE deleted_at IS NOT NULL`);
    await q.query(`DROP INDEX doctors_email_lower_key`);
    await q.query(`CREATE UNIQUE INDEX doctors_email_lower_key ON doctors (lower(email))`);
    for (const table of ['doctors', 'patients']) {
      await q.query(`DROP INDEX ${table}_deleted_idx`);
      await q.query(`ALTER TABLE ${table} DROP COLUMN deleted_by, DROP COLUMN deleted_at`);
    }
    // Audit events are never deleted: once one names an action, the CHECK keeps allowing it.
    const used: Array<{ action: string }> = await q.query(`SELECT DISTINCT action FROM audit_events WHERE action = ANY($1)`, [ACTIONS]);
    const keep = new Set(used.map((u) => u.action));
    await setAllowedActions(q, (await allowedActions(q)).filter((a) => !ACTIONS.includes(a) || keep.has(a)));
  }
}
