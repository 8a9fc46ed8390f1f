import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

// Mirrors migrations/1796291000000-IdempotencyKeys so `migration:generate` stays empty.
/** The first answer to a create sent with an Idempotency-Key, replayed to its retries until it expires. */
@Entity({ name: 'idempotency_keys' })
@Index('idempotency_keys_expires_idx', ['expiresAt'])
export class IdempotencyKey {
  /** Whose key: the caller's user id (an unauthenticated register: `register:` and the request's digest). */
  @PrimaryColumn({ type: 'varchar', length: 100, primaryKeyConstraintName: 'idempotency_keys_pkey' })
  scope: string;

  @PrimaryColumn({ type: 'varchar', length: 255, primaryKeyConstraintName: 'idempotency_keys_pkey' })
  key: string;

  /** SHA-256 (hex) of the route and the canonical JSON of the body: the same key with another request is a 422. */
  @Column({ name: 'request_digest', type: 'char', length: 64 })
  requestDigest: string;

  @Column({ type: 'smallint' })
  status: number;

  /** The answer's body, as sent. */
  @Column({ type: 'text' })
  body: string;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3, default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz', precision: 3 })
  expiresAt: Date;
}
