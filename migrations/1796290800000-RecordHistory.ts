import type { MigrationInterface, QueryRunner } from 'typeorm';
import { allowedActions, setAllowedActions } from './1796290300000-Mfa.js';

/** Columns each record's history keeps, by table. */
const TRACKED = {
  patients: ['name', 'age', 'gender', 'address'],
  doctors: ['name', 'specialization', 'email', 'phone'],
} as const;

/**
 * Every version of a patient and a doctor (issue 12, "History"): one row per
 * version, written by the transaction that makes the change, saying which
 * fields changed from what to what, when and by whom. The rows go with their
 * record (ON DELETE CASCADE): while a DELETE removes a record for good, its
 * history must not outlive it. The audit trail gains the action `history`
 * (a history read is a disclosure of the record's past values).
 *
 * Records that exist when this runs get one row at their current version:
 * `create` when they were never changed (version 1), with their values as
 * they are; for a record already changed (possible only where versions ran
 * before this), an `update` row whose changes are its current values (what
 * came before was never kept).
 */
export class RecordHistory1796290800000 implements MigrationInterface {
  name = 'RecordHistory1796290800000';

  public async up(q: QueryRunner): Promise<void> {
    for (const [table, record, owner] of [
      ['patients', 'patient', 'owner_id'],
      ['doctors', 'doctor', 'created_by'],
    ] as const) {
      await q.query(`
        CREATE TABLE ${record}_history (
          ${record}_id uuid NOT NULL,
          version integer NOT NULL,
          action varchar(7) NOT NULL,
          changed_at timestamptz(3) NOT NULL DEFAULT now(),
          changed_by uuid,
          changes jsonb NOT NULL,
          CONSTRAINT ${record}_history_pkey PRIMARY KEY (${record}_id, version),
          CONSTRAINT ${record}_history_${record}_id_fkey FOREIGN KEY (${record}_id) REFERENCES ${table} (id) ON DELETE CASCADE,
          CONSTRAINT ${record}_history_changed_by_fkey FOREIGN KEY (changed_by) REFERENCES users (id) ON DELETE SET NULL,
          CONSTRAINT ${record}_history_action_check CHECK (action IN ('create', 'update', 'delete', 'restore')),
          CONSTRAINT ${record}_history_version_check CHECK (version >= 1)
        )`);
      const changes = TRACKED[table].map((c) => `'${c}', jsonb_build_object('from', NULL, 'to', ${c})`).join(', ');
      await q.query(`
        INSERT INTO ${record}_history (${record}_id, version, action, changed_at, changed_by, changes)
        SELECT id, version, CASE WHEN version = 1 THEN 'create' ELSE 'update' END, updated_at, ${owner}, jsonb_build_object(${changes})
          FROM ${table}`);
    }
    const actions = await allowedActions(q);
    if (!actions.includes('history')) await setAllowedActions(q, [...actions, 'history']);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE doctor_history`);
    await q.query(`DROP TABLE patient_history`);
    // Audit events are never deleted: once one names the action, the CHECK keeps allowing it.
    const [used] = (await q.query(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'history'`)) as Array<{ n: number }>;
    if (used.n === 0) await setAllowedActions(q, (await allowedActions(q)).filter((a) => a !== 'history'));
  }
}
