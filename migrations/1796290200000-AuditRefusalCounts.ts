import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Refusals of requests without a valid token are aggregated (issue 11, item
 * 1): one row per client IP, route, reason and minute, written by
 * RefusalWriter off the request pool, instead of one row per request. `count`
 * says how many refusals a row stands for (1 for every other event); `route`
 * names the refused route's pattern (`GET /api/patients/:id`), so a row says
 * what was asked without keeping attacker-chosen URLs.
 */
export class AuditRefusalCounts1796290200000 implements MigrationInterface {
  name = 'AuditRefusalCounts1796290200000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE audit_events
        ADD COLUMN count integer NOT NULL DEFAULT 1 CONSTRAINT audit_events_count_check CHECK (count >= 1),
        ADD COLUMN route varchar(128)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_events DROP COLUMN route, DROP COLUMN count`);
  }
}
