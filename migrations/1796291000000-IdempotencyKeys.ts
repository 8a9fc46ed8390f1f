import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Safe retries (issue 12, draft-ietf-httpapi-idempotency-key-header): the
 * first answer to each create sent with an Idempotency-Key, kept for
 * IDEMPOTENCY_TTL and written by the create's own transaction, so a key is
 * never recorded without its effect nor an effect without its key. `scope` is
 * the caller (their user id; for an unauthenticated register, the request's
 * digest), `request_digest` the SHA-256 of the route and the canonical JSON
 * of the body, `body` the answer exactly as it was sent. Expired rows are
 * removed in the background (by expires_at).
 */
export class IdempotencyKeys1796291000000 implements MigrationInterface {
  name = 'IdempotencyKeys1796291000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE idempotency_keys (
        scope varchar(100) NOT NULL,
        key varchar(255) NOT NULL,
        request_digest char(64) NOT NULL,
        status smallint NOT NULL,
        body text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        expires_at timestamptz(3) NOT NULL,
        CONSTRAINT idempotency_keys_pkey PRIMARY KEY (scope, key)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE idempotency_keys`);
  }
}
