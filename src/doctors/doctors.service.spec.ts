import { randomBytes, randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { ConflictException, ForbiddenException, NotFoundException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { getRepositoryToken } from '@nestjs/typeorm';
import { QueryFailedError } from 'typeorm';
import { FakeQueryBuilder } from '../../test/utils/fake-query-builder.js';
import type { AuthUser } from '../auth/current-user.decorator.js';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { fakeTransactions } from '../../test/utils/fake-transactions.js';
import { CursorCodec } from '../common/pagination.js';
import { ValidationFailedException } from '../common/problem.js';
import { Doctor } from './doctor.entity.js';
import { PreparedSql } from '../database/prepared-sql.js';
import { DoctorsService } from './doctors.service.js';

const USER: AuthUser = { id: randomUUID(), username: 'ada', role: 'user', sessionId: randomUUID() };
const ADMIN: AuthUser = { id: randomUUID(), username: 'root', role: 'admin', sessionId: randomUUID() };
const INPUT = { name: 'Dr. Ada', specialization: 'Cardiology', email: 'Ada.Byron@Clinic.EXAMPLE', phone: '5551234567' };

const uniqueViolation = () => new QueryFailedError('INSERT', [], Object.assign(new Error('duplicate'), { code: '23505' }));

describe(DoctorsService.name, () => {
  let tx: ReturnType<typeof fakeTransactions>;
  let service: DoctorsService;
  let qb: FakeQueryBuilder;
  let answer: () => Promise<unknown>;
  let exists: boolean;

  beforeEach(async () => {
    answer = async () => ({});
    exists = false;
    const repository = {
      createQueryBuilder: () => {
        qb = new FakeQueryBuilder(() => answer());
        return qb;
      },
      create: (row: Partial<Doctor>) => Object.assign(new Doctor(), row),
      // What entityFromRow reads to map RETURNING rows: column name -> property (and type).
      metadata: {
        columns: ([['id','id'],['name','name'],['specialization','specialization'],['email','email'],['phone','phone'],['created_by','createdById'],['created_at','createdAt','timestamptz'],['updated_at','updatedAt','timestamptz']] as string[][]).map(([databaseName, propertyName, type]) => ({ databaseName, propertyName, type })),
      },
      exists: async () => exists,
      findOne: async () => null,
    };
    tx = fakeTransactions(repository);
    const moduleRef = await Test.createTestingModule({
      providers: [
        DoctorsService,
        { provide: getRepositoryToken(Doctor), useValue: repository },
        { provide: CursorCodec, useValue: new CursorCodec(randomBytes(32)) },
        { provide: DataSource, useValue: tx.dataSource },
        { provide: AuditService, useValue: tx.audit },
        // List pages run as prepared statements: no doctors in these specs.
        { provide: PreparedSql, useValue: { query: async () => [] } },
      ],
    }).compile();
    service = moduleRef.get(DoctorsService);
  });

  describe('create', () => {
    it('records the caller as creator, keeps the email as sent, and answers the response shape', async () => {
      const now = new Date('2026-11-26T12:00:00.000Z');
      answer = async () => ({
        generatedMaps: [{ id: randomUUID(), ...qb.called('values')[0][0]!, createdAt: now, updatedAt: now }],
      });
      const dto = await service.create(USER, { ...INPUT });
      expect(qb.called('values')[0][0]).toEqual({ ...INPUT, createdById: USER.id });
      expect(dto).toEqual({
        id: expect.any(String),
        name: INPUT.name,
        specialization: INPUT.specialization,
        email: INPUT.email,
        phone: INPUT.phone,
        created_at: '2026-11-26T12:00:00.000Z',
        updated_at: '2026-11-26T12:00:00.000Z',
      });
    });

    it('a unique violation (the email) is a 409', async () => {
      answer = async () => {
        throw uniqueViolation();
      };
      await expect(service.create(USER, { ...INPUT })).rejects.toBeInstanceOf(ConflictException);
    });

    it('other database errors pass through', async () => {
      const boom = new Error('connection lost');
      answer = async () => {
        throw boom;
      };
      await expect(service.create(USER, { ...INPUT })).rejects.toBe(boom);
    });
  });

  describe('update', () => {
    const row = {
      id: randomUUID(),
      ...INPUT,
      created_at: '2026-11-26T12:00:00.000Z',
      updated_at: new Date('2026-11-26T12:00:01.000Z'),
    };

    it('a user may change only what they created', async () => {
      answer = async () => ({ raw: [row] });
      const dto = await service.update(USER, row.id, { name: 'New' });
      expect(qb.called('andWhere')).toEqual([['created_by = :userId', { userId: USER.id }]]);
      expect(qb.called('set')[0][0]).toMatchObject({ name: 'New' });
      expect(dto).toEqual({
        id: row.id,
        name: INPUT.name,
        specialization: INPUT.specialization,
        email: INPUT.email,
        phone: INPUT.phone,
        created_at: '2026-11-26T12:00:00.000Z',
        updated_at: '2026-11-26T12:00:01.000Z',
      });
    });

    it('an admin may change any doctor', async () => {
      answer = async () => ({ raw: [row] });
      await service.update(ADMIN, row.id, { phone: '0000000000' });
      expect(qb.called('andWhere')).toEqual([]);
    });

    it('stores a changed email byte for byte', async () => {
      answer = async () => ({ raw: [row] });
      await service.update(USER, row.id, { email: 'X@EXAMPLE.ORG' });
      expect(qb.called('set')[0][0]).toMatchObject({ email: 'X@EXAMPLE.ORG' });
    });

    it('no row updated: 403 when the doctor exists (someone else’s), 404 when it does not', async () => {
      answer = async () => ({ raw: [] });
      exists = true;
      await expect(service.update(USER, row.id, { name: 'X' })).rejects.toBeInstanceOf(ForbiddenException);
      exists = false;
      await expect(service.update(USER, row.id, { name: 'X' })).rejects.toBeInstanceOf(NotFoundException);
    });

    it('a unique violation (the email) is a 409', async () => {
      answer = async () => {
        throw uniqueViolation();
      };
      await expect(service.update(USER, row.id, { email: 'taken@example.org' })).rejects.toBeInstanceOf(
        ConflictException,
      );
    });
  });

  describe('remove', () => {
    it('deletes the caller’s own doctor', async () => {
      answer = async () => ({ affected: 1 });
      await expect(service.remove(USER, randomUUID())).resolves.toBeUndefined();
      expect(qb.called('andWhere')).toEqual([['created_by = :userId', { userId: USER.id }]]);
    });

    it('an admin deletes without the creator condition', async () => {
      answer = async () => ({ affected: 1 });
      await service.remove(ADMIN, randomUUID());
      expect(qb.called('andWhere')).toEqual([]);
    });

    it('nothing deleted: 403 for someone else’s doctor, 404 for a missing one', async () => {
      answer = async () => ({ affected: 0 });
      exists = true;
      await expect(service.remove(USER, randomUUID())).rejects.toBeInstanceOf(ForbiddenException);
      exists = false;
      await expect(service.remove(USER, randomUUID())).rejects.toBeInstanceOf(NotFoundException);
    });
  });

  describe('get', () => {
    it('a missing doctor is 404', async () => {
      await expect(service.get(randomUUID())).rejects.toBeInstanceOf(NotFoundException);
    });
  });

  describe('list', () => {
    it('refuses an ordering outside the allow-list before querying', async () => {
      await expect(
        service.list({ ordering: 'email' }, new URL('http://localhost/api/doctors/')),
      ).rejects.toBeInstanceOf(ValidationFailedException);
    });
  });
});
