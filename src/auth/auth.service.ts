import { Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ValidationFailedException } from '../common/problem.js';
import { toRegisteredUser, type RegisteredUserDto } from '../users/dto/user-response.dto.js';
import { LoginLockoutService } from '../throttling/login-lockout.service.js';
import { UsersService } from '../users/users.service.js';
import type { ChangePasswordDto } from './dto/change-password.dto.js';
import type { LoginDto } from './dto/login.dto.js';
import type { RegisterDto } from './dto/register.dto.js';
import type { TokenPairDto } from './dto/token-pair.dto.js';
import { PasswordHasher } from './password-hasher.js';
import { checkPassword } from './password-policy.js';
import { SessionsService } from './sessions.service.js';
import { TokensService } from './tokens.service.js';

/** One message for every failed login, so it never tells which part was wrong. */
const BAD_CREDENTIALS = 'No active account found with the given credentials.';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly tokens: TokensService,
    private readonly hasher: PasswordHasher,
    private readonly dataSource: DataSource,
    private readonly lockout: LoginLockoutService,
  ) {}

  async register(dto: RegisterDto): Promise<RegisteredUserDto> {
    // The password rules were applied by the DTO (AcceptablePassword), with the other fields.
    const user = await this.users.create({
      username: dto.username,
      email: dto.email,
      passwordHash: await this.hasher.hash(dto.password),
    });
    return toRegisteredUser(user);
  }

  /**
   * Unknown user, wrong password, inactive user: the same 401, after the same
   * work (a dummy hash is verified when the user does not exist).
   */
  async login(dto: LoginDto): Promise<TokenPairDto> {
    // Before any hashing: a locked username costs nothing.
    await this.lockout.assertNotLocked(dto.username);
    const user = await this.users.findForLogin(dto.username);
    const valid = await this.hasher.verify(user?.passwordHash, dto.password);
    if (!user || !valid || !user.isActive) {
      await this.lockout.recordFailure(dto.username);
      throw new UnauthorizedException(BAD_CREDENTIALS);
    }
    const session = await this.sessions.open(user.id);
    return {
      refresh: this.tokens.signRefresh(user.id, session.id, session.refreshJti, session.expiresAt),
      access: this.tokens.signAccess(user.id, session.id),
    };
  }

  /** Rotates the refresh token; a reused one ends its whole session. */
  async refresh(token: string): Promise<TokenPairDto> {
    const claims = this.tokens.verifyRefresh(token);
    const result = await this.sessions.rotate(claims.sid, claims.sub, claims.jti);
    if (!result.ok) {
      throw new UnauthorizedException(
        result.reason === 'reused'
          ? 'The refresh token was already used; the session has been ended.'
          : 'The session has ended; log in again.',
      );
    }
    return {
      access: this.tokens.signAccess(claims.sub, claims.sid),
      refresh: this.tokens.signRefresh(claims.sub, claims.sid, result.newJti, result.session.expiresAt),
    };
  }

  /** Holding a refresh token that verifies is the proof: its session ends. */
  async logout(token: string): Promise<void> {
    const claims = this.tokens.verifyRefresh(token);
    await this.sessions.revoke(claims.sid, claims.sub);
  }

  logoutAll(userId: string): Promise<void> {
    return this.sessions.revokeAll(userId);
  }

  async changePassword(userId: string, dto: ChangePasswordDto): Promise<void> {
    const user = await this.users.findByIdWithHash(userId);
    if (!user) throw new NotFoundException();
    if (!(await this.hasher.verify(user.passwordHash, dto.old_password))) {
      throw new ValidationFailedException({ old_password: ['old_password is not correct'] });
    }
    const problems = checkPassword(dto.new_password, { username: user.username, email: user.email });
    if (problems.length > 0) throw new ValidationFailedException({ new_password: problems });
    const hash = await this.hasher.hash(dto.new_password);
    // One transaction: a new password never stands while the old sessions live on.
    await this.dataSource.transaction(async (manager) => {
      await this.users.setPasswordHash(userId, hash, manager);
      await this.sessions.revokeAll(userId, manager);
    });
  }
}
