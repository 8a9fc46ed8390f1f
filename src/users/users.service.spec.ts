import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { ConflictException, UnauthorizedException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { getRepositoryToken } from '@nestjs/typeorm';
import { QueryFailedError } from 'typeorm';
import { User } from './user.entity.js';
import { UsersService } from './users.service.js';
import { FakeQueryBuilder } from '../../test/utils/fake-query-builder.js';
import { rejection } from '../../test/utils/rejection.js';

const INPUT = { username: 'Ada', email: 'Ada.Byron@Example.ORG', passwordHash: '$argon2id$stored' };

function dbError(code: string, constraint?: string): QueryFailedError {
  return new QueryFailedError('INSERT', [], Object.assign(new Error('database error'), { code, constraint }));
}


describe(UsersService.name, () => {
  /** Users findOne can see. */
  let found: User[] = [];
  let service: UsersService;
  let qb: FakeQueryBuilder & { alias: string | undefined };
  let answer: () => Promise<unknown>;

  beforeEach(async () => {
    answer = async () => ({});
    const repository = {
      createQueryBuilder: (alias?: string) => {
        qb = Object.assign(new FakeQueryBuilder(() => answer()), { alias });
        return qb;
      },
      create: (row: Partial<User>) => Object.assign(new User(), row),
      findOne: async ({ where }: { where: { id: string } }) => found.find((u) => u.id === where.id) ?? null,
      // create() runs on a caller's transaction when given one, else on the repository's own manager.
      manager: { getRepository: () => repository },
    };
    const moduleRef = await Test.createTestingModule({
      providers: [UsersService, { provide: getRepositoryToken(User), useValue: repository }],
    }).compile();
    service = moduleRef.get(UsersService);
  });

  describe('create', () => {
    it('inserts the user as sent, a plain user unless told otherwise, and never returns the hash', async () => {
      const joined = new Date('2026-11-26T12:00:00.000Z');
      answer = async () => ({
        generatedMaps: [
          { id: randomUUID(), username: 'Ada', email: INPUT.email, role: 'user', isActive: true, dateJoined: joined },
        ],
      });
      const user = await service.create({ ...INPUT });
      expect(qb.called('values')[0][0]).toEqual({ ...INPUT, role: 'user' });
      expect(qb.called('returning')[0][0]).not.toContain('passwordHash');
      expect(user).toBeInstanceOf(User);
      expect(user).toMatchObject({ username: 'Ada', email: INPUT.email, role: 'user', dateJoined: joined });
      expect(user.passwordHash).toBeUndefined();
    });

    it('keeps a given role', async () => {
      answer = async () => ({ generatedMaps: [{ id: randomUUID() }] });
      await service.create({ ...INPUT, role: 'admin' });
      expect(qb.called('values')[0][0]).toMatchObject({ role: 'admin' });
    });

    it('a duplicate username (users_username_lower_key) is a 409 naming the username', async () => {
      answer = async () => {
        throw dbError('23505', 'users_username_lower_key');
      };
      const error = await rejection(service.create({ ...INPUT }));
      expect(error).toBeInstanceOf(ConflictException);
      expect((error as ConflictException).message).toMatch(/username/);
      expect((error as ConflictException).message).not.toMatch(/email/);
    });

    it('a duplicate email (users_email_lower_key) is a 409 naming the email', async () => {
      answer = async () => {
        throw dbError('23505', 'users_email_lower_key');
      };
      const error = await rejection(service.create({ ...INPUT }));
      expect(error).toBeInstanceOf(ConflictException);
      expect((error as ConflictException).message).toMatch(/email/);
      expect((error as ConflictException).message).not.toMatch(/username/);
    });

    it('other database errors pass through unchanged', async () => {
      const checkViolation = dbError('23514', 'users_username_check');
      answer = async () => {
        throw checkViolation;
      };
      await expect(service.create({ ...INPUT })).rejects.toBe(checkViolation);
    });

    it('errors that are not database errors pass through unchanged', async () => {
      const boom = new Error('connection lost');
      answer = async () => {
        throw boom;
      };
      await expect(service.create({ ...INPUT })).rejects.toBe(boom);
    });
  });

  describe('findForLogin', () => {
    it('matches lower(username), so the case of the login does not matter, and loads the hash', async () => {
      const stored = Object.assign(new User(), { id: randomUUID(), username: 'Ada', passwordHash: '$argon2id$x' });
      answer = async () => stored;
      await expect(service.findForLogin('ADA')).resolves.toBe(stored);
      expect(qb.alias).toBe('u');
      expect(qb.called('addSelect')).toEqual([['u.passwordHash']]);
      expect(qb.called('where')).toEqual([['lower(u.username) = lower(:username)', { username: 'ADA' }]]);
    });

    it('answers null for an unknown username', async () => {
      answer = async () => null;
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
      found = [user];
      await expect(service.me(user.id)).resolves.toEqual({
        id: user.id,
        username: 'ada',
        email: 'ada@example.org',
        role: 'admin',
        date_joined: '2026-11-26T12:00:00.000Z',
      });
    });

    it('is 401 when the user no longer exists', async () => {
      found = [];
      await expect(service.me('b5a1c3f0-0000-4000-8000-000000000002')).rejects.toBeInstanceOf(UnauthorizedException);
    });
  });
});
