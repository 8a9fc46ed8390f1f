import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import type { Role } from '../users/user.entity.js';
import { Session } from './session.entity.js';

export type NewSession = Pick<Session, 'userId' | 'refreshJti' | 'refreshExpiresAt' | 'expiresAt'>;

/** The user behind a live session: what the guard attaches to a request. */
export interface SessionUser {
  id: string;
  username: string;
  role: Role;
}

/**
 * Every query on `sessions`. `find*` only read; `insert*`/`update*` write, in
 * the caller's transaction when given its manager. "Live" means not revoked,
 * not expired, and its user active.
 */
@Injectable()
export class SessionsRepository {
  constructor(@InjectRepository(Session) private readonly sessions: Repository<Session>) {}

  async insertSession(values: NewSession): Promise<Session> {
    const result = await this.sessions
      .createQueryBuilder()
      .insert()
      .values(values)
      .returning(['id', 'userId', 'refreshJti', 'refreshExpiresAt', 'expiresAt', 'revokedAt', 'createdAt'])
      .execute();
    return this.sessions.create(result.generatedMaps[0] as Session);
  }

  /**
   * Moves a live session from `jti` (its current one) to `newJti`, in one
   * conditional UPDATE: of two concurrent callers one wins. Remembers `jti`
   * as the previous one, rotated at `rotatedAt`; the refresh token's idle
   * timer restarts (never past the session's end). The session (id, userId,
   * expiresAt), or null when `jti` was not current or the session not live.
   */
  async updateRotated(
    sessionId: string,
    userId: string,
    jti: string,
    newJti: string,
    idleSeconds: number,
    rotatedAt: Date,
  ): Promise<Session | null> {
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
      [sessionId, userId, jti, newJti, idleSeconds, rotatedAt],
    )) as [Session[], number];
    return rows.length === 1 ? this.sessions.create(rows[0]) : null;
  }

  /** The live session `jti` was rotated away from after `since` (with its current jti and rotatedAt), or null. */
  async findRotatedFrom(sessionId: string, userId: string, jti: string, since: Date): Promise<Session | null> {
    const rows: Session[] = await this.sessions.query(
      `SELECT s.id, s.user_id AS "userId", s.expires_at AS "expiresAt", s.refresh_jti AS "refreshJti",
              s.rotated_at AS "rotatedAt"
         FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $1 AND s.user_id = $2 AND u.is_active
          AND s.previous_jti = $3 AND s.rotated_at > $4 AND s.revoked_at IS NULL
          AND s.expires_at > now() AND s.refresh_expires_at > now()`,
      [sessionId, userId, jti, since],
    );
    return rows.length === 1 ? this.sessions.create(rows[0]) : null;
  }

  /**
   * Revokes the session when `jti` is an older jti than its current one
   * (other than the one rotated away from after `graceSince`): reuse of a
   * stolen token. True when it revoked one.
   */
  async updateRevokedOnReuse(sessionId: string, userId: string, jti: string, graceSince: Date): Promise<boolean> {
    const [revoked] = (await this.sessions.query(
      `UPDATE sessions SET revoked_at = now()
        WHERE id = $1 AND user_id = $2 AND refresh_jti <> $3 AND revoked_at IS NULL
          AND NOT COALESCE(previous_jti = $3 AND rotated_at > $4, false)
        RETURNING id`,
      [sessionId, userId, jti, graceSince],
    )) as [unknown[], number];
    return revoked.length > 0;
  }

  async updateRevoked(sessionId: string, userId: string, manager: EntityManager = this.sessions.manager): Promise<void> {
    await manager.query(`UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL`, [
      sessionId,
      userId,
    ]);
  }

  /** Revokes every live session of the user; the ids it revoked. */
  async updateAllRevoked(userId: string, manager: EntityManager = this.sessions.manager): Promise<string[]> {
    const [rows] = (await manager.query(
      `UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL RETURNING id`,
      [userId],
    )) as [Array<{ id: string }>, number];
    return rows.map((row) => row.id);
  }

  /** The user of a session that is not revoked, not expired, and whose user is active; else null. */
  async findLiveUser(sessionId: string): Promise<SessionUser | null> {
    const rows: SessionUser[] = await this.sessions.query(
      `SELECT u.id, u.username, u.role
         FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active`,
      [sessionId],
    );
    return rows[0] ? { id: rows[0].id, username: rows[0].username, role: rows[0].role } : null;
  }
}
