// Past 250 lines: one suite for the one class, a describe per service method (register, login with its lockout and second factor, refresh, changePassword); splitting it would scatter the audit rules they share.
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { UnauthorizedException } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { Test } from '@nestjs/testing';
import { ValidationFailedException } from '../common/problem.js';
import { User } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import { AuditService } from '../audit/audit.service.js';
import { LoginLockoutService } from '../throttling/login-lockout.service.js';
import { AuthService } from './auth.service.js';
import { MfaService } from './mfa/mfa.service.js';
import { PasswordHasher } from './password-hasher.js';
import { SessionsService } from './sessions.service.js';
import { TokensService } from './tokens.service.js';
import { rejection } from '../../test/utils/rejection.js';
import { userEntity } from '../../test/utils/factories.js';

const PASSWORD = 'Quiet-Harbour-Lantern-42';

const user = userEntity;


describe(AuthService.name, () => {
  let service: AuthService;
  const users = {
    create: jest.fn<UsersService['create']>(),
    findForLogin: jest.fn<UsersService['findForLogin']>(),
    findById: jest.fn<UsersService['findById']>(),
    findByIdWithHash: jest.fn<UsersService['findByIdWithHash']>(),
    setPasswordHash: jest.fn<UsersService['setPasswordHash']>(),
  };
  const sessions = {
    open: jest.fn<SessionsService['open']>(),
    rotate: jest.fn<SessionsService['rotate']>(),
    revoke: jest.fn<SessionsService['revoke']>(),
    revokeAll: jest.fn<SessionsService['revokeAll']>(),
  };
  const tokens = {
    signAccess: jest.fn<TokensService['signAccess']>(),
    signRefresh: jest.fn<TokensService['signRefresh']>(),
    verifyRefresh: jest.fn<TokensService['verifyRefresh']>(),
  };
  const hasher = { hash: jest.fn<PasswordHasher['hash']>(), verify: jest.fn<PasswordHasher['verify']>() };
  const audit = {
    record: jest.fn<AuditService['record']>(),
    recordRefusal: jest.fn<AuditService['recordRefusal']>(),
  };
  const mfa = { verifyLoginFactor: jest.fn<MfaService['verifyLoginFactor']>() };
  const lockout = {
    assertNotLocked: jest.fn<LoginLockoutService['assertNotLocked']>(),
    recordFailure: jest.fn<LoginLockoutService['recordFailure']>(),
  };
  /** Runs the callback with a marker manager, so the spec sees which calls ran inside the transaction. */
  const manager = { transactional: true } as unknown as EntityManager;
  const dataSource = { transaction: jest.fn(async (work: (m: typeof manager) => Promise<unknown>) => work(manager)) };

  beforeEach(async () => {
    for (const mock of [users, sessions, tokens, hasher, lockout, audit, mfa].flatMap((m) => Object.values(m))) mock.mockReset();
    dataSource.transaction.mockClear();
    tokens.signAccess.mockReturnValue('access.jwt');
    tokens.signRefresh.mockReturnValue('refresh.jwt');
    hasher.hash.mockResolvedValue('$argon2id$new');
    mfa.verifyLoginFactor.mockResolvedValue('ok');
    const moduleRef = await Test.createTestingModule({
      providers: [
        AuthService,
        { provide: UsersService, useValue: users },
        { provide: SessionsService, useValue: sessions },
        { provide: TokensService, useValue: tokens },
        { provide: PasswordHasher, useValue: hasher },
        { provide: DataSource, useValue: dataSource },
        { provide: LoginLockoutService, useValue: lockout },
        { provide: AuditService, useValue: audit },
        { provide: MfaService, useValue: mfa },
      ],
    }).compile();
    service = moduleRef.get(AuthService);
  });

  describe('register', () => {
    it('hashes the password and returns {id, username, email, date_joined}', async () => {
      const created = user();
      users.create.mockResolvedValue(created);
      const res = await service.register({ username: 'ada', email: 'ada@example.org', password: PASSWORD });
      // The user and its audit event in one transaction.
      expect(users.create).toHaveBeenCalledWith({ username: 'ada', email: 'ada@example.org', passwordHash: '$argon2id$new' }, manager);
      expect(audit.record).toHaveBeenCalledWith(
        { action: 'create', resourceType: 'user', resourceId: created.id, actorId: created.id, status: 201 },
        manager,
      );
      expect(hasher.hash).toHaveBeenCalledWith(PASSWORD, 'name:ada');
      expect(res).toEqual({ id: created.id, username: 'ada', email: 'ada@example.org', date_joined: '2026-11-26T12:00:00.000Z' });
    });
  });

  describe('login', () => {
    it('opens a session and returns its refresh and access tokens', async () => {
      const found = user();
      const session = { id: randomUUID(), refreshJti: randomUUID(), expiresAt: new Date(Date.now() + 60_000) };
      users.findForLogin.mockResolvedValue(found);
      hasher.verify.mockResolvedValue(true);
      sessions.open.mockResolvedValue(session as never);

      await expect(service.login({ username: 'ADA', password: PASSWORD })).resolves.toEqual({
        refresh: 'refresh.jwt',
        access: 'access.jwt',
      });
      expect(hasher.verify).toHaveBeenCalledWith(found.passwordHash, PASSWORD, `user:${found.id}`);
      expect(tokens.signRefresh).toHaveBeenCalledWith(found.id, session.id, session.refreshJti, session.expiresAt);
      expect(tokens.signAccess).toHaveBeenCalledWith(found.id, session.id);
    });

    it('unknown user, wrong password and inactive user: the same 401, each after a hash verification', async () => {
      const [wrong, inactive] = [user(), user({ isActive: false })];
      const cases: Array<[User | null, boolean]> = [
        [null, false],
        [wrong, false],
        [inactive, true],
      ];
      const errors: unknown[] = [];
      for (const [found, valid] of cases) {
        users.findForLogin.mockResolvedValueOnce(found);
        hasher.verify.mockResolvedValueOnce(valid);
        errors.push(await rejection(service.login({ username: 'ada', password: PASSWORD })));
      }
      for (const error of errors) expect(error).toBeInstanceOf(UnauthorizedException);
      expect(new Set(errors.map((e) => JSON.stringify((e as UnauthorizedException).getResponse()))).size).toBe(1);
      // The unknown user is checked against the dummy hash (undefined), so it costs the same.
      expect(hasher.verify.mock.calls.map(([hash]) => hash)).toEqual([undefined, '$argon2id$stored', '$argon2id$stored']);
      expect(sessions.open).not.toHaveBeenCalled();
      // Each failure counts against the account when the name resolves to one, else against the canonical name.
      expect(lockout.recordFailure.mock.calls).toEqual([['name:ada'], [`user:${wrong.id}`], [`user:${inactive.id}`]]);
    });

    it('a missing or wrong second factor fails with the same 401 as a wrong password, counted by the lockout', async () => {
      const found = user();
      users.findForLogin.mockResolvedValue(found);
      hasher.verify.mockResolvedValueOnce(false);
      const wrongPassword = await rejection(service.login({ username: 'ada', password: 'nope' }));
      // The factor is not even asked for when the password is wrong.
      expect(mfa.verifyLoginFactor).not.toHaveBeenCalled();
      const errors = [wrongPassword];
      for (const result of ['missing_otp', 'wrong_otp'] as const) {
        hasher.verify.mockResolvedValueOnce(true);
        mfa.verifyLoginFactor.mockResolvedValueOnce(result);
        errors.push(await rejection(service.login({ username: 'ada', password: PASSWORD, otp: '123456' })));
      }
      expect(mfa.verifyLoginFactor.mock.calls).toEqual([
        [found, '123456'],
        [found, '123456'],
      ]);
      for (const error of errors) expect(error).toBeInstanceOf(UnauthorizedException);
      expect(new Set(errors.map((e) => JSON.stringify((e as UnauthorizedException).getResponse()))).size).toBe(1);
      expect(lockout.recordFailure.mock.calls).toEqual([[`user:${found.id}`], [`user:${found.id}`], [`user:${found.id}`]]);
      expect(sessions.open).not.toHaveBeenCalled();
      expect(audit.recordRefusal.mock.calls.map(([event]) => event.reason)).toEqual(['wrong_password', 'missing_otp', 'wrong_otp']);
    });

    it('a locked username is refused before any lookup or hashing, and a success counts no failure', async () => {
      lockout.assertNotLocked.mockRejectedValueOnce(new Error('locked'));
      await expect(service.login({ username: 'ada', password: PASSWORD })).rejects.toThrow('locked');
      expect(users.findForLogin).not.toHaveBeenCalled();
      expect(hasher.verify).not.toHaveBeenCalled();

      users.findForLogin.mockResolvedValue(user());
      hasher.verify.mockResolvedValue(true);
      sessions.open.mockResolvedValue({ id: randomUUID(), refreshJti: randomUUID(), expiresAt: new Date() } as never);
      await service.login({ username: 'ada', password: PASSWORD });
      expect(lockout.recordFailure).not.toHaveBeenCalled();
    });
  });

  describe('refresh', () => {
    const claims = { sub: randomUUID(), sid: randomUUID(), jti: randomUUID(), typ: 'refresh' as const, iat: 0, exp: 0 };

    it('rotates and signs a pair for the same session', async () => {
      const expiresAt = new Date(Date.now() + 60_000);
      tokens.verifyRefresh.mockReturnValue(claims);
      const issuedAt = new Date();
      sessions.rotate.mockResolvedValue({ ok: true, session: { expiresAt } as never, newJti: 'new-jti', issuedAt, retry: false });
      await expect(service.refresh('token')).resolves.toEqual({ access: 'access.jwt', refresh: 'refresh.jwt' });
      expect(sessions.rotate).toHaveBeenCalledWith(claims.sid, claims.sub, claims.jti);
      expect(tokens.signRefresh).toHaveBeenCalledWith(claims.sub, claims.sid, 'new-jti', expiresAt, issuedAt);
    });

    it.each(['reused', 'ended'] as const)('401 when the session answers %s', async (reason) => {
      tokens.verifyRefresh.mockReturnValue(claims);
      sessions.rotate.mockResolvedValue({ ok: false, reason });
      await expect(service.refresh('token')).rejects.toBeInstanceOf(UnauthorizedException);
      expect(tokens.signAccess).not.toHaveBeenCalled();
    });

    it('a token that does not verify never reaches the sessions', async () => {
      tokens.verifyRefresh.mockImplementation(() => {
        throw new UnauthorizedException();
      });
      await expect(service.refresh('token')).rejects.toBeInstanceOf(UnauthorizedException);
      await expect(service.logout('token')).rejects.toBeInstanceOf(UnauthorizedException);
      expect(sessions.rotate).not.toHaveBeenCalled();
      expect(sessions.revoke).not.toHaveBeenCalled();
    });
  });

  describe('changePassword', () => {
    it('wrong old_password: 400 on old_password, nothing changes', async () => {
      const found = user();
      users.findByIdWithHash.mockResolvedValue(found);
      hasher.verify.mockResolvedValue(false);
      const error = await rejection(
        service.changePassword(found.id, { old_password: 'nope', new_password: 'Fresh-Granite-Meadow-77' }),
      );
      expect((error as ValidationFailedException).errors).toEqual({ old_password: expect.any(Array) });
      expect(users.setPasswordHash).not.toHaveBeenCalled();
      expect(sessions.revokeAll).not.toHaveBeenCalled();
    });

    it('a wrong old_password counts against the account in the login lockout', async () => {
      const found = user();
      users.findByIdWithHash.mockResolvedValue(found);
      hasher.verify.mockResolvedValue(false);
      await rejection(service.changePassword(found.id, { old_password: 'nope', new_password: 'Fresh-Granite-Meadow-77' }));
      expect(lockout.recordFailure.mock.calls).toEqual([[`user:${found.id}`]]);
      expect(hasher.verify).toHaveBeenCalledWith(found.passwordHash, 'nope', `user:${found.id}`);
    });

    it('a locked account cannot change its password: refused before any hashing, nothing changes', async () => {
      const found = user();
      users.findByIdWithHash.mockResolvedValue(found);
      lockout.assertNotLocked.mockRejectedValueOnce(new Error('locked'));
      await expect(
        service.changePassword(found.id, { old_password: PASSWORD, new_password: 'Fresh-Granite-Meadow-77' }),
      ).rejects.toThrow('locked');
      expect(lockout.assertNotLocked).toHaveBeenCalledWith(`user:${found.id}`);
      expect(hasher.verify).not.toHaveBeenCalled();
      expect(users.setPasswordHash).not.toHaveBeenCalled();
    });

    it('a new password that breaks the rules (here: like the username): 400 on new_password', async () => {
      const found = user({ username: 'harbourlantern' });
      users.findByIdWithHash.mockResolvedValue(found);
      hasher.verify.mockResolvedValue(true);
      const error = await rejection(
        service.changePassword(found.id, { old_password: PASSWORD, new_password: 'HarbourLantern1' }),
      );
      expect((error as ValidationFailedException).errors).toEqual({ new_password: ['password is too similar to the username'] });
      expect(users.setPasswordHash).not.toHaveBeenCalled();
    });

    it('stores the new hash and ends every session of the user, in one transaction', async () => {
      const found = user();
      users.findByIdWithHash.mockResolvedValue(found);
      hasher.verify.mockResolvedValue(true);
      await service.changePassword(found.id, { old_password: PASSWORD, new_password: 'Fresh-Granite-Meadow-77' });
      expect(hasher.hash).toHaveBeenCalledWith('Fresh-Granite-Meadow-77', `user:${found.id}`);
      expect(dataSource.transaction).toHaveBeenCalledTimes(1);
      expect(users.setPasswordHash).toHaveBeenCalledWith(found.id, '$argon2id$new', manager);
      expect(sessions.revokeAll).toHaveBeenCalledWith(found.id, manager);
      expect(users.setPasswordHash.mock.invocationCallOrder[0]).toBeLessThan(sessions.revokeAll.mock.invocationCallOrder[0]);
      expect(audit.record).toHaveBeenCalledWith(
        { action: 'password_changed', resourceType: 'user', resourceId: found.id, status: 204 },
        manager,
      );
    });
  });
});
