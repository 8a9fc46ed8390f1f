import { ConflictException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../../audit/audit.service.js';
import type { AuthUser } from '../current-user.decorator.js';
import { ValidationFailedException } from '../../common/problem.js';
import { AppConfig } from '../../config/app-config.js';
import { LoginLockoutService } from '../../throttling/login-lockout.service.js';
import { UsersService } from '../../users/users.service.js';
import { PasswordHasher } from '../password-hasher.js';
import type { DisableMfaDto } from './dto/disable-mfa.dto.js';
import type { MfaRecoveryCodesDto, MfaSetupDto, MfaStatusDto } from './dto/mfa-response.dto.js';
import { MFA_KEYS, type MfaKeys } from './mfa-key.js';
import { type FactorRow, MfaRepository } from './mfa.repository.js';
import { hashRecoveryCode, newRecoveryCodes } from './recovery-codes.js';
import { openSecret, sealSecret } from './secret-box.js';
import { looksLikeTotp, newTotpSecret, totpUri, verifyTotp } from './totp.js';

/** The issuer authenticator apps show beside the account name. */
export const TOTP_ISSUER = 'Healthcare API';
/** How long the guard may trust "this admin has a second factor" (as long as the session check's cache). */
const STATE_CACHE_MS = 2000;
const STATE_CACHE_MAX = 10_000;

/** What a login's second factor came to. Anything but 'ok' fails the login like a wrong password. */
export type LoginFactorResult = 'ok' | 'missing_otp' | 'wrong_otp';

/**
 * TOTP second factors (RFC 6238) and their recovery codes: setup, confirm,
 * disable, and the check at login. Secrets are sealed with a key outside the
 * database (mfa-key.ts); a time step is accepted once per account; a recovery
 * code works once. Every step is an audit event.
 */
@Injectable()
export class MfaService {
  private readonly logger = new Logger(MfaService.name);
  private readonly adminRequired: boolean;
  private readonly enabledCache = new Map<string, { enabled: boolean; until: number }>();

  constructor(
    private readonly repository: MfaRepository,
    @Inject(MFA_KEYS) private readonly keys: MfaKeys,
    private readonly audit: AuditService,
    private readonly hasher: PasswordHasher,
    private readonly users: UsersService,
    private readonly lockout: LoginLockoutService,
    private readonly dataSource: DataSource,
    config: AppConfig,
  ) {
    this.adminRequired = config.auth.adminMfaRequired;
  }

  /** Whether this account must have a second factor before it may use the API. */
  isRequiredFor(user: Pick<AuthUser, 'role'>): boolean {
    return this.adminRequired && user.role === 'admin';
  }

  async status(user: AuthUser): Promise<MfaStatusDto> {
    const state = await this.repository.findStatus(user.id);
    return { enabled: state.enabled, pending: state.pending, required: this.isRequiredFor(user), recovery_codes_left: state.recoveryCodesLeft };
  }

  /** A new secret, pending until confirmed; starting again replaces a pending one. 409 once a factor is on. */
  async setup(user: AuthUser): Promise<MfaSetupDto> {
    const secret = newTotpSecret();
    const stored = await this.repository.upsertPendingFactor(user.id, sealSecret(this.keys.encryption, secret, user.id));
    const event = { action: 'mfa_setup', resourceType: 'user', resourceId: user.id } as const;
    if (!stored) {
      this.audit.recordRefusal({ ...event, status: 409, reason: 'already_enabled' });
      throw new ConflictException('Two-factor authentication is already on; disable it before setting it up again.');
    }
    await this.audit.record({ ...event, status: 200 });
    return { secret, otpauth_uri: totpUri(secret, TOTP_ISSUER, user.username) };
  }

  /** Turns the pending factor on with a code from the app; returns the recovery codes, once. */
  async confirm(user: AuthUser, code: string): Promise<MfaRecoveryCodesDto> {
    const factor = await this.repository.findFactor(user.id);
    const event = { action: 'mfa_confirmed', resourceType: 'user', resourceId: user.id } as const;
    if (!factor || factor.confirmed) {
      this.audit.recordRefusal({ ...event, status: 409, reason: factor ? 'already_enabled' : 'no_setup' });
      throw new ConflictException(
        factor ? 'Two-factor authentication is already on.' : 'There is no setup to confirm: start with POST /api/auth/mfa/setup/.',
      );
    }
    const step = this.checkTotp(user.id, factor, code);
    if (step === null) {
      this.audit.recordRefusal({ action: 'mfa_failed', resourceType: 'user', resourceId: user.id, status: 400, reason: 'confirm_wrong_code' });
      throw new ValidationFailedException({ code: ['code is not correct: check the time on the device and try the next code'] });
    }
    const codes = newRecoveryCodes();
    const confirmed = await this.dataSource.transaction(async (manager) => {
      if (!(await this.repository.confirmFactor(user.id, step, manager))) return false;
      await this.repository.replaceRecoveryCodes(
        user.id,
        codes.map((c) => hashRecoveryCode(this.keys.recoveryCodes, c)),
        manager,
      );
      await this.audit.record({ ...event, status: 200 }, manager);
      return true;
    });
    // Another request confirmed (or restarted) the setup in between.
    if (!confirmed) throw new ConflictException('The setup changed meanwhile; start again with POST /api/auth/mfa/setup/.');
    this.enabledCache.delete(user.id);
    return { recovery_codes: codes };
  }

  /**
   * Turns the factor off: needs the password and a code (TOTP or recovery).
   * Wrong ones count against the account in the failed-login lockout, and
   * the answer does not say which of the two was wrong.
   */
  async disable(user: AuthUser, dto: DisableMfaDto): Promise<void> {
    const event = { resourceType: 'user', resourceId: user.id } as const;
    await this.lockout.assertNotLocked(`user:${user.id}`);
    const account = await this.users.findByIdWithHash(user.id);
    if (!account) throw new NotFoundException();
    const factor = await this.repository.findFactor(user.id);
    if (!factor?.confirmed) throw new ConflictException('Two-factor authentication is not on.');
    const passwordOk = await this.hasher.verify(account.passwordHash, dto.password, `user:${user.id}`);
    // The code is tried (and spent) only with the right password.
    const codeOk = passwordOk && (await this.useCode(user.id, factor, dto.code)) !== null;
    if (!codeOk) {
      await this.lockout.recordFailure(`user:${user.id}`);
      this.audit.recordRefusal({ ...event, action: 'mfa_failed', status: 400, reason: passwordOk ? 'disable_wrong_code' : 'disable_wrong_password' });
      const message = 'the password or the code is not correct';
      throw new ValidationFailedException({ password: [message], code: [message] });
    }
    await this.dataSource.transaction(async (manager) => {
      await this.repository.deleteFactor(user.id, manager);
      await this.audit.record({ ...event, action: 'mfa_disabled', status: 204 }, manager);
    });
    this.enabledCache.delete(user.id);
  }

  /**
   * The login's second factor, asked only once the password was right. An
   * account without a confirmed factor needs none (an `otp` sent anyway is
   * ignored). The caller answers anything but 'ok' as a wrong password.
   */
  async verifyLoginFactor(user: { id: string }, otp: string | undefined): Promise<LoginFactorResult> {
    const factor = await this.repository.findFactor(user.id);
    if (!factor?.confirmed) return 'ok';
    if (!otp) return 'missing_otp';
    return (await this.useCode(user.id, factor, otp)) === null ? 'wrong_otp' : 'ok';
  }

  /** For the guard: whether the user has a confirmed factor (cached for a couple of seconds). */
  async isEnabled(userId: string): Promise<boolean> {
    const now = Date.now();
    const hit = this.enabledCache.get(userId);
    if (hit && hit.until > now) return hit.enabled;
    const { enabled } = await this.repository.findStatus(userId);
    if (this.enabledCache.size >= STATE_CACHE_MAX) this.enabledCache.delete(this.enabledCache.keys().next().value as string);
    this.enabledCache.set(userId, { enabled, until: now + STATE_CACHE_MS });
    return enabled;
  }

  /**
   * Spends a TOTP code (its step, once) or a recovery code (once), recording
   * a failure or the use of a recovery code. Returns what was used, or null.
   */
  private async useCode(userId: string, factor: FactorRow, input: string): Promise<'totp' | 'recovery' | null> {
    const code = input.trim();
    // The account concerned; the actor comes from the request (none at login: the password alone proves nobody).
    const event = { resourceType: 'user', resourceId: userId } as const;
    if (looksLikeTotp(code)) {
      const step = this.checkTotp(userId, factor, code);
      if (step !== null && (await this.repository.useStep(userId, step))) return 'totp';
      // Right code, but its step (or a later one) was already used: a replay.
      const replay = step === null && this.checkTotp(userId, { ...factor, lastUsedStep: null }, code) !== null;
      this.audit.recordRefusal({ ...event, action: 'mfa_failed', status: 401, reason: replay || step !== null ? 'replayed_code' : 'wrong_code' });
      return null;
    }
    const hash = hashRecoveryCode(this.keys.recoveryCodes, code);
    // Fail closed: a recovery code is spent only on the record (the event and the spending commit together).
    const spent = await this.dataSource.transaction(async (manager) => {
      if (!(await this.repository.useRecoveryCode(userId, hash, manager))) return false;
      await this.audit.record({ ...event, action: 'mfa_recovery_used', status: 200 }, manager);
      return true;
    });
    if (spent) return 'recovery';
    this.audit.recordRefusal({ ...event, action: 'mfa_failed', status: 401, reason: 'wrong_recovery_code' });
    return null;
  }

  /** The step a TOTP code is valid for, newer than the last used one; null otherwise. */
  private checkTotp(userId: string, factor: FactorRow, code: string): number | null {
    const secret = openSecret(this.keys.encryption, factor.secretEncrypted, userId);
    if (secret === null) {
      // Ids only: the key changed (or the row was altered). The user must set the factor up again.
      this.logger.error({ user_id: userId }, 'a TOTP secret cannot be decrypted with MFA_ENCRYPTION_KEY');
      return null;
    }
    return verifyTotp(secret, code, factor.lastUsedStep);
  }
}
