import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The audit actions this migration adds (issue 11: every step of a second factor is on record). */
const MFA_ACTIONS = ['mfa_setup', 'mfa_confirmed', 'mfa_disabled', 'mfa_failed', 'mfa_recovery_used'];

/** The values the audit_events action CHECK allows now (whatever other migrations added). */
export async function allowedActions(q: QueryRunner): Promise<string[]> {
  const [row] = (await q.query(
    `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE conname = 'audit_events_action_check' AND conrelid = 'audit_events'::regclass`,
  )) as Array<{ def: string }>;
  return [...row.def.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]);
}

export async function setAllowedActions(q: QueryRunner, actions: string[]): Promise<void> {
  const list = actions.map((a) => `'${a}'`).join(', ');
  await q.query(`ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_check`);
  await q.query(`ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_check CHECK (action IN (${list}))`);
}

/**
 * TOTP second factors (issue 11): one factor per user, its secret sealed by
 * the app (AES-256-GCM, key outside the database), and single-use recovery
 * codes kept as keyed hashes. The audit CHECK gains the MFA actions; it is
 * extended rather than rewritten, so actions added by other migrations stay.
 */
export class Mfa1796290300000 implements MigrationInterface {
  name = 'Mfa1796290300000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mfa_factors (
        user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        secret_encrypted text NOT NULL,
        confirmed_at timestamptz(3),
        last_used_step bigint,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE mfa_recovery_codes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        code_hash text NOT NULL,
        used_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT mfa_recovery_codes_user_hash_key UNIQUE (user_id, code_hash)
      )`);
    const actions = await allowedActions(q);
    await setAllowedActions(q, [...actions, ...MFA_ACTIONS.filter((a) => !actions.includes(a))]);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mfa_recovery_codes`);
    await q.query(`DROP TABLE mfa_factors`);
    // Audit events are never deleted: once one names an MFA action, the CHECK keeps allowing it.
    const [used] = (await q.query(`SELECT count(*)::int AS n FROM audit_events WHERE action = ANY ($1)`, [MFA_ACTIONS])) as Array<{
      n: number;
    }>;
    if (used.n === 0) await setAllowedActions(q, (await allowedActions(q)).filter((a) => !MFA_ACTIONS.includes(a)));
  }
}
