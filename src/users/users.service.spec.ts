import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ConflictException, UnauthorizedException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { QueryFailedError } from 'typeorm';
import { User } from './user.entity.js';
import { UsersRepository } from './users.repository.js';
import { UsersService } from './users.service.js';
import { rejection } from '../../test/utils/rejection.js';

const INPUT = { username: 'Ada', email: 'Ada.Byron@Example.ORG', passwordHash: '$argon2id$stored' };

function dbError(code: string, constraint?: string): QueryFailedError {
  return new QueryFailedError('INSERT', [], Object.assign(new Error('database error'), { code, constraint }));
}

describe(UsersService.name, () => {
  let service: UsersService;
  const repository = {
    insertUser: jest.fn<UsersRepository['insertUser']>(),
    findWithHashByCanonical: jest.fn<UsersRepository['findWithHashByCanonical']>(),
    findById: jest.fn<UsersRepository['findById']>(),
    findWithHashById: jest.fn<UsersRepository['findWithHashById']>(),
    updatePasswordHash: jest.fn<UsersRepository['updatePasswordHash']>(),
  };

  beforeEach(async () => {
    for (const mock of Object.values(repository)) mock.mockReset();
    const moduleRef = await Test.createTestingModule({
      providers: [UsersService, { provide: UsersRepository, useValue: repository }],
    }).compile();
    service = moduleRef.get(UsersService);
  });

  describe('create', () => {
    it('inserts the user as sent with its canonical username, a plain user unless told otherwise', async () => {
      const created = Object.assign(new User(), { id: randomUUID(), username: 'Ada', email: INPUT.email, role: 'user' });
      repository.insertUser.mockResolvedValue(created);
      await expect(service.create({ ...INPUT })).resolves.toBe(created);
      expect(repository.insertUser).toHaveBeenCalledWith(
        { ...INPUT, usernameCanonical: 'ada', role: 'user' },
        undefined,
      );
    });

    it('keeps a given role, and runs in the transaction it is given', async () => {
      repository.insertUser.mockResolvedValue(new User());
      const manager = { transactional: true } as never;
      await service.create({ ...INPUT, role: 'admin' }, manager);
      expect(repository.insertUser).toHaveBeenCalledWith(expect.objectContaining({ role: 'admin' }), manager);
    });

    it.each([
      ['tİm1', 'tim1'],
      ['ＴＩＭ１', 'tim1'],
      ['Straße', 'strasse'],
    ])('%s is stored as sent, compared as %s', async (username, canonical) => {
      repository.insertUser.mockResolvedValue(new User());
      await service.create({ ...INPUT, username });
      expect(repository.insertUser.mock.calls[0][0]).toMatchObject({ username, usernameCanonical: canonical });
    });

    it('a duplicate username (users_username_canonical_key) is a 409 naming the username', async () => {
      repository.insertUser.mockRejectedValue(dbError('23505', 'users_username_canonical_key'));
      const error = await rejection(service.create({ ...INPUT }));
      expect(error).toBeInstanceOf(ConflictException);
      expect((error as ConflictException).message).toMatch(/username/);
      expect((error as ConflictException).message).not.toMatch(/email/);
    });

    it('a duplicate email (users_email_lower_key) is a 409 naming the email', async () => {
      repository.insertUser.mockRejectedValue(dbError('23505', 'users_email_lower_key'));
      const error = await rejection(service.create({ ...INPUT }));
      expect(error).toBeInstanceOf(ConflictException);
      expect((error as ConflictException).message).toMatch(/email/);
      expect((error as ConflictException).message).not.toMatch(/username/);
    });

    it('other database errors pass through unchanged', async () => {
      const checkViolation = dbError('23514', 'users_username_check');
      repository.insertUser.mockRejectedValue(checkViolation);
      await expect(service.create({ ...INPUT })).rejects.toBe(checkViolation);
    });

    it('errors that are not database errors pass through unchanged', async () => {
      const boom = new Error('connection lost');
      repository.insertUser.mockRejectedValue(boom);
      await expect(service.create({ ...INPUT })).rejects.toBe(boom);
    });
  });

  describe('findForLogin', () => {
    it('looks the account up by the canonical form of what was typed, so case and Unicode form do not matter', async () => {
      const stored = Object.assign(new User(), { id: randomUUID(), username: 'Ada', passwordHash: '$argon2id$x' });
      repository.findWithHashByCanonical.mockResolvedValue(stored);
      for (const typed of ['ADA', 'ａｄａ', 'Ada']) await expect(service.findForLogin(typed)).resolves.toBe(stored);
      expect(repository.findWithHashByCanonical.mock.calls).toEqual([['ada'], ['ada'], ['ada']]);
    });

    it('answers null for an unknown username', async () => {
      repository.findWithHashByCanonical.mockResolvedValue(null);
      await expect(service.findForLogin('nobody')).resolves.toBeNull();
    });
  });

  describe('me', () => {
    it('is {id, username, email, role, date_joined} of the caller', async () => {
      const user = Object.assign(new User(), {
        id: 'b5a1c3f0-0000-4000-8000-000000000001',
        username: 'ada',
        email: 'ada@example.org',
        role: 'admin',
        isActive: true,
        dateJoined: new Date('2026-11-26T12:00:00.000Z'),
      });
      repository.findById.mockResolvedValue(user);
      await expect(service.me(user.id)).resolves.toEqual({
        id: user.id,
        username: 'ada',
        email: 'ada@example.org',
        role: 'admin',
        date_joined: '2026-11-26T12:00:00.000Z',
      });
    });

    it('is 401 when the user no longer exists', async () => {
      repository.findById.mockResolvedValue(null);
      await expect(service.me('b5a1c3f0-0000-4000-8000-000000000002')).rejects.toBeInstanceOf(UnauthorizedException);
    });
  });
});
