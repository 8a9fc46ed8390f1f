import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

/** A factor as the service needs it; the sealed secret only where asked for. */
export interface FactorRow {
  secretEncrypted: string;
  confirmed: boolean;
  /** The newest accepted time step, or null before the first. */
  lastUsedStep: number | null;
}

type UpdateResult<T> = [T[], number];

/** Every query on mfa_factors and mfa_recovery_codes. */
@Injectable()
export class MfaRepository {
  constructor(private readonly dataSource: DataSource) {}

  private runner(manager?: EntityManager) {
    return manager ?? this.dataSource.manager;
  }

  async findFactor(userId: string): Promise<FactorRow | null> {
    const rows: Array<{ secret: string; confirmed: boolean; last: string | null }> = await this.dataSource.query(
      `SELECT secret_encrypted AS secret, confirmed_at IS NOT NULL AS confirmed, last_used_step AS last
         FROM mfa_factors WHERE user_id = $1`,
      [userId],
    );
    const row = rows[0];
    return row ? { secretEncrypted: row.secret, confirmed: row.confirmed, lastUsedStep: row.last === null ? null : Number(row.last) } : null;
  }

  /** Whether the user has a confirmed factor, and how many unused recovery codes are left. */
  async findStatus(userId: string): Promise<{ enabled: boolean; pending: boolean; recoveryCodesLeft: number }> {
    const rows: Array<{ confirmed: boolean | null; left: number }> = await this.dataSource.query(
      `SELECT (SELECT confirmed_at IS NOT NULL FROM mfa_factors WHERE user_id = $1) AS confirmed,
              (SELECT count(*)::int FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL) AS left`,
      [userId],
    );
    const { confirmed, left } = rows[0];
    return { enabled: confirmed === true, pending: confirmed === false, recoveryCodesLeft: left };
  }

  /**
   * Stores a new pending secret (replacing an earlier pending one), in one
   * statement; false when the user's factor is already confirmed.
   */
  async upsertPendingFactor(userId: string, secretEncrypted: string): Promise<boolean> {
    const rows: Array<{ user_id: string }> = await this.dataSource.query(
      `INSERT INTO mfa_factors (user_id, secret_encrypted) VALUES ($1, $2)
       ON CONFLICT (user_id) DO UPDATE
             SET secret_encrypted = EXCLUDED.secret_encrypted, last_used_step = NULL, created_at = now()
           WHERE mfa_factors.confirmed_at IS NULL
       RETURNING user_id`,
      [userId, secretEncrypted],
    );
    return rows.length === 1;
  }

  /** Turns the pending factor on, remembering the step just used; false if it was not pending (or the step is stale). */
  async confirmFactor(userId: string, step: number, manager?: EntityManager): Promise<boolean> {
    const [rows] = (await this.runner(manager).query(
      `UPDATE mfa_factors SET confirmed_at = now(), last_used_step = $2
        WHERE user_id = $1 AND confirmed_at IS NULL AND (last_used_step IS NULL OR last_used_step < $2)
        RETURNING user_id`,
      [userId, step],
    )) as UpdateResult<unknown>;
    return rows.length === 1;
  }

  /**
   * Records a confirmed factor's use of a time step, if newer than the last:
   * one conditional UPDATE, so two logins with the same code cannot both win.
   */
  async useStep(userId: string, step: number): Promise<boolean> {
    const [rows] = (await this.dataSource.query(
      `UPDATE mfa_factors SET last_used_step = $2
        WHERE user_id = $1 AND confirmed_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < $2)
        RETURNING user_id`,
      [userId, step],
    )) as UpdateResult<unknown>;
    return rows.length === 1;
  }

  /** The user's recovery codes become exactly these hashes. */
  async replaceRecoveryCodes(userId: string, hashes: string[], manager?: EntityManager): Promise<void> {
    const runner = this.runner(manager);
    await runner.query(`DELETE FROM mfa_recovery_codes WHERE user_id = $1`, [userId]);
    await runner.query(
      `INSERT INTO mfa_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::text[])`,
      [userId, hashes],
    );
  }

  /** Spends an unused recovery code of a confirmed factor, once: true when this call spent it. */
  async useRecoveryCode(userId: string, hash: string, manager?: EntityManager): Promise<boolean> {
    const [rows] = (await this.runner(manager).query(
      `UPDATE mfa_recovery_codes c SET used_at = now()
        WHERE c.user_id = $1 AND c.code_hash = $2 AND c.used_at IS NULL
          AND EXISTS (SELECT 1 FROM mfa_factors f WHERE f.user_id = c.user_id AND f.confirmed_at IS NOT NULL)
        RETURNING c.id`,
      [userId, hash],
    )) as UpdateResult<unknown>;
    return rows.length === 1;
  }

  /** Removes the factor and its recovery codes; false when there was no confirmed factor. */
  async deleteFactor(userId: string, manager?: EntityManager): Promise<boolean> {
    const runner = this.runner(manager);
    await runner.query(`DELETE FROM mfa_recovery_codes WHERE user_id = $1`, [userId]);
    const [rows] = (await runner.query(
      `DELETE FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL RETURNING user_id`,
      [userId],
    )) as UpdateResult<unknown>;
    return rows.length === 1;
  }
}
