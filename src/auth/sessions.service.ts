import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import type { AuthUser } from './current-user.decorator.js';
import type { EnvironmentVariables } from '../config/env.validation.js';
import type { Role } from '../users/user.entity.js';
import { Session } from './session.entity.js';

/**
 * How long the guard may trust a session check. Logout, logout-all, password
 * changes and deactivation end access tokens within this time on every
 * instance (and at once on the instance that handled them).
 */
export const SESSION_CACHE_MS = 2000;
const SESSION_CACHE_MAX = 10_000;

/**
 * `issuedAt`: when the new refresh token was (first) issued, so a retry within
 * the grace signs the very same token; `retry`: this was such a retry.
 */
export type RotateResult =
  | { ok: true; session: Session; newJti: string; issuedAt: Date; retry: boolean }
  | { ok: false; reason: 'reused' | 'ended' };

@Injectable()
export class SessionsService {
  private readonly sessionTtl: number;
  private readonly refreshIdleTtl: number;
  private readonly refreshGraceMs: number;
  private readonly cache = new Map<string, { user: AuthUser | null; until: number }>();

  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.sessionTtl = config.getOrThrow('JWT_SESSION_TTL', { infer: true });
    this.refreshIdleTtl = config.getOrThrow('JWT_REFRESH_IDLE_TTL', { infer: true });
    this.refreshGraceMs = config.getOrThrow('JWT_REFRESH_GRACE', { infer: true }) * 1000;
  }

  /** Opens a session (one per login) and returns it with its first refresh jti. */
  async open(userId: string): Promise<Session> {
    const now = Date.now();
    const expiresAt = new Date(now + this.sessionTtl * 1000);
    const result = await this.sessions
      .createQueryBuilder()
      .insert()
      .values({
        userId,
        refreshJti: randomUUID(),
        refreshExpiresAt: new Date(Math.min(now + this.refreshIdleTtl * 1000, expiresAt.getTime())),
        expiresAt,
      })
      .returning(['id', 'userId', 'refreshJti', 'refreshExpiresAt', 'expiresAt', 'revokedAt', 'createdAt'])
      .execute();
    return this.sessions.create(result.generatedMaps[0] as Session);
  }

  /**
   * Rotates a refresh token: succeeds only for the session's current jti, in
   * one conditional UPDATE, so two concurrent uses cannot both win. The jti
   * rotated away from is remembered: presented again within
   * JWT_REFRESH_GRACE seconds (the loser of a race, a retry after a lost
   * response) it gets the winner's successor, and nothing ends. Any other
   * older jti of a live session is reuse: the whole session is revoked.
   */
  async rotate(sessionId: string, userId: string, jti: string): Promise<RotateResult> {
    const newJti = randomUUID();
    const issuedAt = new Date();
    const [rows] = (await this.sessions.query(
      `UPDATE sessions s
          SET refresh_jti = $4,
              refresh_expires_at = LEAST(now() + make_interval(secs => $5), s.expires_at),
              previous_jti = s.refresh_jti,
              rotated_at = $6
         FROM users u
        WHERE s.id = $1 AND s.user_id = $2 AND u.id = s.user_id AND u.is_active
          AND s.refresh_jti = $3 AND s.revoked_at IS NULL
          AND s.expires_at > now() AND s.refresh_expires_at > now()
        RETURNING s.id, s.user_id AS "userId", s.expires_at AS "expiresAt"`,
      [sessionId, userId, jti, newJti, this.refreshIdleTtl, issuedAt],
    )) as [Session[], number];
    if (rows.length === 1) {
      return { ok: true, session: this.sessions.create(rows[0]), newJti, issuedAt, retry: false };
    }
    // The clock of the rotation (this process's), not the database's: rotated_at was written from it.
    const graceStart = new Date(Date.now() - this.refreshGraceMs);
    const retried: Array<Session> = await this.sessions.query(
      `SELECT s.id, s.user_id AS "userId", s.expires_at AS "expiresAt", s.refresh_jti AS "refreshJti",
              s.rotated_at AS "rotatedAt"
         FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $1 AND s.user_id = $2 AND u.is_active
          AND s.previous_jti = $3 AND s.rotated_at > $4 AND s.revoked_at IS NULL
          AND s.expires_at > now() AND s.refresh_expires_at > now()`,
      [sessionId, userId, jti, graceStart],
    );
    if (retried.length === 1) {
      const session = this.sessions.create(retried[0]);
      return { ok: true, session, newJti: session.refreshJti, issuedAt: session.rotatedAt as Date, retry: true };
    }
    const [revoked] = (await this.sessions.query(
      `UPDATE sessions SET revoked_at = now()
        WHERE id = $1 AND user_id = $2 AND refresh_jti <> $3 AND revoked_at IS NULL
          AND NOT COALESCE(previous_jti = $3 AND rotated_at > $4, false)
        RETURNING id`,
      [sessionId, userId, jti, graceStart],
    )) as [unknown[], number];
    this.forget(sessionId);
    return { ok: false, reason: revoked.length > 0 ? 'reused' : 'ended' };
  }

  /** Ends one session, if the refresh token's jti is still its current one or an older one. */
  async revoke(sessionId: string, userId: string, manager: EntityManager = this.sessions.manager): Promise<void> {
    await manager.query(
      `UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL`,
      [sessionId, userId],
    );
    this.forget(sessionId);
  }

  /** Ends every session of a user (logout-all, password change, deactivation). */
  async revokeAll(userId: string, manager: EntityManager = this.sessions.manager): Promise<void> {
    const [rows] = (await manager.query(
      `UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL RETURNING id`,
      [userId],
    )) as [Array<{ id: string }>, number];
    for (const row of rows) this.forget(row.id);
  }

  /**
   * The guard's check behind every access token: the session is live and its
   * user active. Cached for SESSION_CACHE_MS.
   */
  async authenticate(sessionId: string, userId: string): Promise<AuthUser | null> {
    const now = Date.now();
    const hit = this.cache.get(sessionId);
    if (hit && hit.until > now) return hit.user && hit.user.id === userId ? hit.user : null;

    const rows: Array<{ id: string; username: string; role: Role }> = await this.sessions.query(
      `SELECT u.id, u.username, u.role
         FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active`,
      [sessionId],
    );
    const user = rows[0] ? { id: rows[0].id, username: rows[0].username, role: rows[0].role, sessionId } : null;
    if (this.cache.size >= SESSION_CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(sessionId, { user, until: now + SESSION_CACHE_MS });
    return user && user.id === userId ? user : null;
  }

  private forget(sessionId: string): void {
    this.cache.delete(sessionId);
  }
}
