import { randomBytes, randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ConflictException, HttpException, NotFoundException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { fakeTransactions } from '../../test/utils/fake-transactions.js';
import { userEntity } from '../../test/utils/factories.js';
import { AuditService } from '../audit/audit.service.js';
import type { AuthUser } from '../auth/current-user.decorator.js';
import { PasswordHasher } from '../auth/password-hasher.js';
import { SessionsService } from '../auth/sessions.service.js';
import { CursorCodec } from '../common/pagination/cursor-codec.js';
import { SEARCHES_PER_USER, SearchGate } from '../common/search-gate.js';
import type { User } from '../users/user.entity.js';
import { UsersRepository } from '../users/users.repository.js';
import { UsersService } from '../users/users.service.js';
import { AdminUsersService } from './admin-users.service.js';

const ADMIN: AuthUser = { id: randomUUID(), username: 'root', role: 'admin', sessionId: randomUUID() };
const OTHER_ADMIN: AuthUser = { id: randomUUID(), username: 'chief', role: 'admin', sessionId: randomUUID() };
const URL_ = new URL('http://localhost/api/admin/users/');

function fakeRepository() {
  return {
    sortFields: {
      username: { column: 'username', property: 'username', kind: 'string' as const },
      date_joined: { column: 'date_joined', property: 'dateJoined', kind: 'date' as const },
    },
    listPage: jest.fn<UsersRepository['listPage']>(async () => []),
    findById: jest.fn<UsersRepository['findById']>(async () => null),
    findActiveAdminIdsForUpdate: jest.fn<UsersRepository['findActiveAdminIdsForUpdate']>(async () => []),
    findByIdForUpdate: jest.fn<UsersRepository['findByIdForUpdate']>(async () => null),
    updateStatus: jest.fn<UsersRepository['updateStatus']>(async () => undefined),
  };
}

describe(AdminUsersService.name, () => {
  let service: AdminUsersService;
  let repo: ReturnType<typeof fakeRepository>;
  let accounts: { create: jest.Mock<UsersService['create']> };
  let tx: ReturnType<typeof fakeTransactions>;
  let sessions: { revokeAll: jest.Mock<SessionsService['revokeAll']> };

  beforeEach(async () => {
    repo = fakeRepository();
    accounts = { create: jest.fn<UsersService['create']>(async (input) => userEntity({ username: input.username, email: input.email, role: input.role })) };
    tx = fakeTransactions(undefined);
    sessions = { revokeAll: jest.fn<SessionsService['revokeAll']>(async () => undefined) };
    const moduleRef = await Test.createTestingModule({
      providers: [
        AdminUsersService,
        SearchGate,
        { provide: UsersRepository, useValue: repo },
        { provide: SessionsService, useValue: sessions },
        { provide: CursorCodec, useValue: new CursorCodec(randomBytes(32)) },
        { provide: DataSource, useValue: tx.dataSource },
        { provide: AuditService, useValue: tx.audit },
        { provide: UsersService, useValue: accounts },
        { provide: PasswordHasher, useValue: { hash: jest.fn(async () => 'argon2-hash') } },
      ],
    }).compile();
    service = moduleRef.get(AdminUsersService);
  });

  describe('create', () => {
    it('hashes the password, makes the account with the role asked for, and records it in the same transaction', async () => {
      const dto = await service.create({ username: 'made', email: 'made@example.org', password: 'Quiet-Harbour-Lantern-42', role: 'admin' });
      expect(accounts.create).toHaveBeenCalledWith({ username: 'made', email: 'made@example.org', passwordHash: 'argon2-hash', role: 'admin' }, tx.manager);
      expect(tx.audit.record).toHaveBeenCalledWith(expect.objectContaining({ action: 'create', resourceType: 'user', status: 201 }), tx.manager);
      expect(dto).toMatchObject({ username: 'made', role: 'admin' });
      expect(dto).not.toHaveProperty('password');
      expect(dto).not.toHaveProperty('password_hash');
    });

    it('a user unless asked; a conflict (409) records nothing', async () => {
      await service.create({ username: 'plain', email: 'plain@example.org', password: 'Quiet-Harbour-Lantern-42' });
      expect(accounts.create.mock.calls[0][0]).toMatchObject({ role: 'user' });
      accounts.create.mockRejectedValueOnce(new ConflictException('A user with that username already exists.'));
      await expect(service.create({ username: 'plain', email: 'x@example.org', password: 'Quiet-Harbour-Lantern-42' })).rejects.toBeInstanceOf(ConflictException);
      expect(tx.audit.record).toHaveBeenCalledTimes(1);
    });
  });

  describe('list', () => {
    it('passes search, role and is_active to the repository; an empty search is no search', async () => {
      await service.list(ADMIN, { search: 'ann', role: 'admin', is_active: false }, URL_);
      await service.list(ADMIN, { search: '' }, URL_);
      expect(repo.listPage.mock.calls.map((c) => c[0])).toEqual([
        { search: 'ann', role: 'admin', isActive: false },
        { search: undefined, role: undefined, isActive: undefined },
      ]);
      expect(repo.listPage.mock.calls[0][1].ordering).toMatchObject({ key: 'username', descending: false });
    });

    it('answers accounts without their password hash', async () => {
      repo.listPage.mockResolvedValueOnce([userEntity({ id: ADMIN.id, username: 'root', role: 'admin' })]);
      const page = await service.list(ADMIN, {}, URL_);
      expect(page.results).toEqual([expect.objectContaining({ id: ADMIN.id, username: 'root', role: 'admin', is_active: true })]);
      expect(JSON.stringify(page)).not.toMatch(/argon2|password/i);
    });

    it(`an admin runs at most ${SEARCHES_PER_USER} searches at once, shared with the other lists: the next is 429`, async () => {
      const release: Array<() => void> = [];
      repo.listPage.mockImplementation((filter) =>
        filter.search ? new Promise<User[]>((done) => release.push(() => done([]))) : Promise.resolve([]),
      );
      const running = Array.from({ length: SEARCHES_PER_USER }, () => service.list(ADMIN, { search: 'ann' }, URL_));
      const refused = await service.list(ADMIN, { search: 'ann' }, URL_).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(HttpException);
      expect((refused as HttpException).getStatus()).toBe(429);
      // Another admin's search, and the same admin's plain list, still run.
      const other = service.list(OTHER_ADMIN, { search: 'ann' }, URL_);
      await expect(service.list(ADMIN, {}, URL_)).resolves.toMatchObject({ results: [] });
      release.forEach((done) => done());
      await Promise.all([...running, other]);
    });
  });

  describe('update', () => {
    it('404 for an unknown account, nothing written', async () => {
      await expect(service.update(randomUUID(), { is_active: false })).rejects.toBeInstanceOf(NotFoundException);
      expect(repo.updateStatus).not.toHaveBeenCalled();
      expect(tx.audit.record).not.toHaveBeenCalled();
    });

    it('locks the active admins before the account, then 409 for demoting the last one', async () => {
      const last = userEntity({ id: ADMIN.id, role: 'admin' });
      repo.findActiveAdminIdsForUpdate.mockResolvedValue([ADMIN.id]);
      repo.findByIdForUpdate.mockResolvedValue(last);
      for (const dto of [{ role: 'user' as const }, { is_active: false }]) {
        await expect(service.update(ADMIN.id, dto)).rejects.toBeInstanceOf(ConflictException);
      }
      expect(repo.findActiveAdminIdsForUpdate.mock.invocationCallOrder[0]).toBeLessThan(repo.findByIdForUpdate.mock.invocationCallOrder[0]);
      expect(repo.updateStatus).not.toHaveBeenCalled();
    });

    it('deactivating writes the change, ends every session and records it, all in the one transaction', async () => {
      const user = userEntity();
      repo.findByIdForUpdate.mockResolvedValue(user);
      const dto = await service.update(user.id, { is_active: false });
      expect(dto).toMatchObject({ id: user.id, is_active: false });
      expect(repo.updateStatus).toHaveBeenCalledWith(user.id, { isActive: false, role: 'user' }, tx.manager);
      expect(sessions.revokeAll).toHaveBeenCalledWith(user.id, tx.manager);
      expect(tx.audit.record).toHaveBeenCalledWith(expect.objectContaining({ action: 'user_changed', reason: 'is_active=false' }), tx.manager);
    });

    it('a change to what is already so writes nothing but is still recorded', async () => {
      const user = userEntity({ role: 'admin' });
      repo.findActiveAdminIdsForUpdate.mockResolvedValue([user.id, ADMIN.id]);
      repo.findByIdForUpdate.mockResolvedValue(user);
      await service.update(user.id, { role: 'admin' });
      expect(repo.updateStatus).not.toHaveBeenCalled();
      expect(sessions.revokeAll).not.toHaveBeenCalled();
      expect(tx.audit.record).toHaveBeenCalledWith(expect.objectContaining({ reason: 'role=admin' }), tx.manager);
    });
  });
});
