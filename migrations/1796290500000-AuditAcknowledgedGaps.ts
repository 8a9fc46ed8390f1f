import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Gaps an operator acknowledges (after a PostgreSQL crash the sequence can
 * skip up to 32 numbers: its values are WAL-logged ahead). `audit-acknowledge-gap`
 * writes one keyed link of kind 'acknowledged' for each number nothing else
 * accounts for, and records who acknowledged it and why as an audit event
 * (src/audit/audit-chain.service.ts). The chain trigger already checks a mark's
 * place and that its number has no event; only the kind's CHECK widens here.
 */
export class AuditAcknowledgedGaps1796290500000 implements MigrationInterface {
  name = 'AuditAcknowledgedGaps1796290500000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_chain DROP CONSTRAINT audit_chain_kind_check`);
    await q.query(
      `ALTER TABLE audit_chain ADD CONSTRAINT audit_chain_kind_check CHECK (kind IN ('event', 'missing', 'rolled_back', 'acknowledged'))`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    const [{ marks }] = (await q.query(`SELECT count(*)::int AS marks FROM audit_chain WHERE kind = 'acknowledged'`)) as Array<{
      marks: number;
    }>;
    if (marks > 0) {
      // The chain is append-only: the acknowledged numbers would have no kind left to be.
      throw new Error(`AuditAcknowledgedGaps cannot be reverted: ${marks} link(s) acknowledge numbers lost to a crash.`);
    }
    await q.query(`ALTER TABLE audit_chain DROP CONSTRAINT audit_chain_kind_check`);
    await q.query(`ALTER TABLE audit_chain ADD CONSTRAINT audit_chain_kind_check CHECK (kind IN ('event', 'missing', 'rolled_back'))`);
  }
}
