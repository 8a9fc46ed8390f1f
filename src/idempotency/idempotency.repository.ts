import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { PreparedSql } from '../database/prepared-sql.js';

/** A stored first answer, as a retry needs it. */
export interface StoredAnswer {
  requestDigest: string;
  status: number;
  body: string;
}

export interface NewStoredAnswer extends StoredAnswer {
  scope: string;
  key: string;
  expiresAt: Date;
}

/** The advisory-lock namespace of idempotency keys (the second key is the scope and key's hash). */
const LOCK_NAMESPACE = 7_245_002;

/**
 * Every query on `idempotency_keys`. A key's answer is inserted by the
 * transaction of its create; reads see only unexpired rows; the background
 * job removes expired ones in batches.
 */
@Injectable()
export class IdempotencyRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sql: PreparedSql,
  ) {}

  /** The unexpired answer under this scope and key (in `manager`'s transaction when given), or null. */
  async find(scope: string, key: string, manager?: EntityManager): Promise<StoredAnswer | null> {
    const text = `SELECT request_digest AS "requestDigest", status, body FROM idempotency_keys WHERE scope = $1 AND key = $2 AND expires_at > now()`;
    const [row] = (manager ? await manager.query(text, [scope, key]) : await this.sql.query(text, [scope, key])) as StoredAnswer[];
    return row ?? null;
  }

  /**
   * Takes the transaction-level advisory lock of this scope and key, without
   * waiting: false when another transaction (the first request with the key,
   * still running) holds it.
   */
  async tryLock(lockKey: number, manager: EntityManager): Promise<boolean> {
    const [{ locked }] = (await manager.query('SELECT pg_try_advisory_xact_lock($1, $2) AS locked', [LOCK_NAMESPACE, lockKey])) as Array<{
      locked: boolean;
    }>;
    return locked;
  }

  /** Stores a first answer in the create's transaction; an expired row under the same scope and key is replaced. */
  async insert(answer: NewStoredAnswer, manager: EntityManager): Promise<void> {
    await manager.query(
      `INSERT INTO idempotency_keys (scope, key, request_digest, status, body, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (scope, key) DO UPDATE SET request_digest = EXCLUDED.request_digest, status = EXCLUDED.status, body = EXCLUDED.body,
         created_at = now(), expires_at = EXCLUDED.expires_at
       WHERE idempotency_keys.expires_at <= now()`,
      [answer.scope, answer.key, answer.requestDigest, answer.status, answer.body, answer.expiresAt],
    );
  }

  /** Removes up to `limit` expired rows; how many went. */
  async removeExpired(limit: number): Promise<number> {
    const rows = (await this.dataSource.query(
      `WITH gone AS (
         DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT $1)
         RETURNING 1
       ) SELECT count(*)::int AS n FROM gone`,
      [limit],
    )) as Array<{ n: number }>;
    return rows[0].n;
  }
}
