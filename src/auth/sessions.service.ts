import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import type { AuthUser } from './current-user.decorator.js';
import type { Session } from './session.entity.js';
import { SessionRevocations } from './session-revocations.js';
import { SessionsRepository } from './sessions.repository.js';

/**
 * How long the guard may trust a session check. Logout, logout-all, password
 * changes and deactivation end access tokens at once on every instance that
 * hears of it through Redis (SessionRevocations), and within this time on
 * any that does not (no Redis, or Redis down).
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
  /**
   * Sessions just ended (here or on another instance): until then, every
   * check reads the database and nothing is cached. The end is written in a
   * transaction that may not have committed when it is announced; a check
   * meanwhile must not cache the session as live for SESSION_CACHE_MS.
   */
  private readonly recheck = new Map<string, number>();

  constructor(
    private readonly sessions: SessionsRepository,
    config: AppConfig,
    private readonly revocations: SessionRevocations,
  ) {
    this.sessionTtl = config.auth.sessionTtl;
    this.refreshIdleTtl = config.auth.refreshIdleTtl;
    this.refreshGraceMs = config.auth.refreshGrace * 1000;
    revocations.onRevoked((ids) => this.forget(ids, false));
  }

  /** Opens a session (one per login) and returns it with its first refresh jti. */
  async open(userId: string): Promise<Session> {
    const now = Date.now();
    const expiresAt = new Date(now + this.sessionTtl * 1000);
    return this.sessions.insertSession({
      userId,
      refreshJti: randomUUID(),
      refreshExpiresAt: new Date(Math.min(now + this.refreshIdleTtl * 1000, expiresAt.getTime())),
      expiresAt,
    });
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
    const rotated = await this.sessions.updateRotated(sessionId, userId, jti, newJti, this.refreshIdleTtl, issuedAt);
    if (rotated) return { ok: true, session: rotated, newJti, issuedAt, retry: false };
    // The clock of the rotation (this process's), not the database's: rotated_at was written from it.
    const graceStart = new Date(Date.now() - this.refreshGraceMs);
    const retried = await this.sessions.findRotatedFrom(sessionId, userId, jti, graceStart);
    if (retried) return { ok: true, session: retried, newJti: retried.refreshJti, issuedAt: retried.rotatedAt as Date, retry: true };
    const reused = await this.sessions.updateRevokedOnReuse(sessionId, userId, jti, graceStart);
    this.forget([sessionId]);
    return { ok: false, reason: reused ? 'reused' : 'ended' };
  }

  /** Ends one session, if the refresh token's jti is still its current one or an older one. */
  async revoke(sessionId: string, userId: string, manager?: EntityManager): Promise<void> {
    await this.sessions.updateRevoked(sessionId, userId, manager);
    this.forget([sessionId]);
  }

  /** Ends every session of a user (logout-all, password change, deactivation). */
  async revokeAll(userId: string, manager?: EntityManager): Promise<void> {
    this.forget(await this.sessions.updateAllRevoked(userId, manager));
  }

  /**
   * The guard's check behind every access token: the session is live and its
   * user active. Cached for SESSION_CACHE_MS.
   */
  async authenticate(sessionId: string, userId: string): Promise<AuthUser | null> {
    const now = Date.now();
    const recheckUntil = this.recheck.get(sessionId);
    const rechecking = recheckUntil !== undefined && recheckUntil > now;
    if (recheckUntil !== undefined && !rechecking) this.recheck.delete(sessionId);
    const hit = rechecking ? undefined : this.cache.get(sessionId);
    if (hit && hit.until > now) return hit.user && hit.user.id === userId ? hit.user : null;

    const found = await this.sessions.findLiveUser(sessionId);
    const user = found ? { ...found, sessionId } : null;
    if (!rechecking) {
      if (this.cache.size >= SESSION_CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(sessionId, { user, until: now + SESSION_CACHE_MS });
    }
    return user && user.id === userId ? user : null;
  }

  /** Drops these sessions' cached checks and rechecks them for SESSION_CACHE_MS; `tell`: announce it to the other instances. */
  private forget(sessionIds: string[], tell = true): void {
    const until = Date.now() + SESSION_CACHE_MS;
    for (const id of sessionIds) {
      this.cache.delete(id);
      if (this.recheck.size >= SESSION_CACHE_MAX) this.recheck.delete(this.recheck.keys().next().value as string);
      this.recheck.set(id, until);
    }
    if (tell) this.revocations.publish(sessionIds);
  }
}
