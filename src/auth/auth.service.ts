import { HttpException, Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { writeTransaction } from '../database/write-transaction.js';
import { AuditService } from '../audit/audit.service.js';
import { ValidationFailedException } from '../common/problem.js';
import { toRegisteredUser, type RegisteredUserDto } from '../users/dto/user-response.dto.js';
import { LoginLockoutService } from '../throttling/login-lockout.service.js';
import type { User } from '../users/user.entity.js';
import { canonicalUsername } from '../users/username.js';
import { UsersService } from '../users/users.service.js';
import type { ChangePasswordDto } from './dto/change-password.dto.js';
import type { LoginDto } from './dto/login.dto.js';
import type { RegisterDto } from './dto/register.dto.js';
import type { TokenPairDto } from './dto/token-pair.dto.js';
import { MfaService } from './mfa/mfa.service.js';
import { PasswordHasher } from './password-hasher.js';
import { checkPassword } from './password-policy.js';
import { SessionsService } from './sessions.service.js';
import { TokensService } from './tokens.service.js';

/** One message for every failed login, so it never tells which part was wrong. */
const BAD_CREDENTIALS = 'No active account found with the given credentials.';

/**
 * Whose budget a password check spends, in the lockout and in the hasher's
 * fair queue: the account when the name resolves to one (whatever spelling
 * was typed), else the canonical form of the name.
 */
function subjectOf(user: User | null, typedUsername = ''): string {
  return user ? `user:${user.id}` : `name:${canonicalUsername(typedUsername)}`;
}

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly tokens: TokensService,
    private readonly hasher: PasswordHasher,
    private readonly dataSource: DataSource,
    private readonly lockout: LoginLockoutService,
    private readonly audit: AuditService,
    private readonly mfa: MfaService,
  ) {}

  async register(dto: RegisterDto): Promise<RegisteredUserDto> {
    // The password rules were applied by the DTO (AcceptablePassword), with the other fields.
    const passwordHash = await this.hasher.hash(dto.password, subjectOf(null, dto.username));
    try {
      return await writeTransaction(this.dataSource, async (manager) => {
        const user = await this.users.create({ username: dto.username, email: dto.email, passwordHash }, manager);
        await this.audit.record(
          { action: 'create', resourceType: 'user', resourceId: user.id, actorId: user.id, status: 201 },
          manager,
        );
        return toRegisteredUser(user);
      });
    } catch (error) {
      if (error instanceof HttpException && error.getStatus() === 409) {
        this.audit.recordRefusal({ action: 'create', resourceType: 'user', status: 409, reason: 'conflict' });
      }
      throw error;
    }
  }

  /**
   * Unknown user, wrong password, inactive user: the same 401, after the same
   * work (a dummy hash is verified when the user does not exist).
   */
  async login(dto: LoginDto): Promise<TokenPairDto> {
    // Before any lookup: a locked name without an account costs nothing.
    await this.assertNotLocked(subjectOf(null, dto.username), { action: 'login_failed', resourceId: null });
    const user = await this.users.findForLogin(dto.username);
    const subject = subjectOf(user, dto.username);
    // Before any hashing: a locked account, whichever spelling of its name was typed.
    if (user) await this.assertNotLocked(subject, { action: 'login_failed', resourceId: user.id });
    const valid = await this.hasher.verify(user?.passwordHash, dto.password, subject);
    // The second factor (src/auth/mfa), asked only once the password was right; missing or wrong, it fails alike.
    const factor = user && valid && user.isActive ? await this.mfa.verifyLoginFactor(user, dto.otp) : 'ok';
    if (!user || !valid || !user.isActive || factor !== 'ok') {
      await this.lockout.recordFailure(subject);
      // The account's id when there is one (never the username typed: it may be a mistyped password).
      const reason = !user ? 'unknown_user' : !valid ? 'wrong_password' : !user.isActive ? 'inactive_user' : factor;
      this.audit.recordRefusal({
        action: 'login_failed',
        resourceType: 'user',
        resourceId: user?.id ?? null,
        status: 401,
        reason,
      });
      throw new UnauthorizedException(BAD_CREDENTIALS);
    }
    return this.openSession(user);
  }

  /** A session for a user whose credentials checked out, and its first token pair. */
  private async openSession(user: User): Promise<TokenPairDto> {
    const session = await this.sessions.open(user.id);
    // Fail closed: no tokens unless the login is on record.
    await this.audit.record({
      action: 'login_succeeded',
      resourceType: 'user',
      resourceId: user.id,
      actorId: user.id,
      sessionId: session.id,
      status: 200,
    });
    return {
      refresh: this.tokens.signRefresh(user.id, session.id, session.refreshJti, session.expiresAt),
      access: this.tokens.signAccess(user.id, session.id),
    };
  }

  /** 429 while the subject is locked, on record as a refusal of `action`. */
  private async assertNotLocked(subject: string, event: { action: 'login_failed' | 'password_changed'; resourceId: string | null }) {
    try {
      await this.lockout.assertNotLocked(subject);
    } catch (error) {
      this.audit.recordRefusal({ ...event, resourceType: 'user', status: 429, reason: 'locked' });
      throw error;
    }
  }

  /**
   * Rotates the refresh token; a reused one ends its whole session, except
   * the token just rotated, within the grace: it gets the same new refresh
   * token (and a fresh access token of the same session).
   */
  async refresh(token: string): Promise<TokenPairDto> {
    let claims: ReturnType<TokensService['verifyRefresh']>;
    try {
      claims = this.tokens.verifyRefresh(token);
    } catch (error) {
      this.audit.recordRefusal({ action: 'token_refreshed', status: 401, reason: 'invalid_token' });
      throw error;
    }
    const who = { actorId: claims.sub, sessionId: claims.sid, resourceType: 'user' as const, resourceId: claims.sub };
    const result = await this.sessions.rotate(claims.sid, claims.sub, claims.jti);
    if (!result.ok) {
      this.audit.recordRefusal(
        result.reason === 'reused'
          ? { ...who, action: 'refresh_reuse_detected', status: 401, reason: 'session_revoked' }
          : { ...who, action: 'token_refreshed', status: 401, reason: 'session_ended' },
      );
      throw new UnauthorizedException(
        result.reason === 'reused'
          ? 'The refresh token was already used; the session has been ended.'
          : 'The session has ended; log in again.',
      );
    }
    await this.audit.record({
      ...who,
      action: 'token_refreshed',
      status: 200,
      reason: result.retry ? 'retry_within_grace' : null,
    });
    return {
      access: this.tokens.signAccess(claims.sub, claims.sid),
      refresh: this.tokens.signRefresh(claims.sub, claims.sid, result.newJti, result.session.expiresAt, result.issuedAt),
    };
  }

  /** Holding a refresh token that verifies is the proof: its session ends. */
  async logout(token: string): Promise<void> {
    let claims: ReturnType<TokensService['verifyRefresh']>;
    try {
      claims = this.tokens.verifyRefresh(token);
    } catch (error) {
      this.audit.recordRefusal({ action: 'logout', status: 401, reason: 'invalid_token' });
      throw error;
    }
    await this.dataSource.transaction(async (manager) => {
      await this.sessions.revoke(claims.sid, claims.sub, manager);
      await this.audit.record(
        { action: 'logout', resourceType: 'user', resourceId: claims.sub, actorId: claims.sub, sessionId: claims.sid, status: 204 },
        manager,
      );
    });
  }

  async logoutAll(userId: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await this.sessions.revokeAll(userId, manager);
      await this.audit.record(
        { action: 'logout', resourceType: 'user', resourceId: userId, status: 204, reason: 'all_sessions' },
        manager,
      );
    });
  }

  /**
   * The old password is a password check like a login: it spends the
   * account's lockout budget when wrong, and a locked account cannot change
   * its password (429, before any hashing).
   */
  async changePassword(userId: string, dto: ChangePasswordDto): Promise<void> {
    const user = await this.users.findByIdWithHash(userId);
    if (!user) throw new NotFoundException();
    const subject = subjectOf(user);
    await this.assertNotLocked(subject, { action: 'password_changed', resourceId: userId });
    if (!(await this.hasher.verify(user.passwordHash, dto.old_password, subject))) {
      await this.lockout.recordFailure(subject);
      this.audit.recordRefusal({
        action: 'password_changed',
        resourceType: 'user',
        resourceId: userId,
        status: 400,
        reason: 'wrong_password',
      });
      throw new ValidationFailedException({ old_password: ['old_password is not correct'] });
    }
    const problems = checkPassword(dto.new_password, { username: user.username, email: user.email });
    if (problems.length > 0) throw new ValidationFailedException({ new_password: problems });
    const hash = await this.hasher.hash(dto.new_password, subject);
    // One transaction: a new password never stands while the old sessions live on.
    await this.dataSource.transaction(async (manager) => {
      await this.users.setPasswordHash(userId, hash, manager);
      await this.sessions.revokeAll(userId, manager);
      await this.audit.record({ action: 'password_changed', resourceType: 'user', resourceId: userId, status: 204 }, manager);
    });
  }
}
