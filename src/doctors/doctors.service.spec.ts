import { randomBytes, randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ConflictException, ForbiddenException, HttpException, NotFoundException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource, QueryFailedError } from 'typeorm';
import { fakeTransactions } from '../../test/utils/fake-transactions.js';
import { AuditService } from '../audit/audit.service.js';
import type { AuthUser } from '../auth/current-user.decorator.js';
import { CursorCodec } from '../common/pagination/cursor-codec.js';
import { PreconditionFailedException } from '../common/preconditions.js';
import { ValidationFailedException } from '../common/problem.js';
import { HistoryService } from '../history/history.service.js';
import { SEARCHES_PER_USER, SearchGate } from '../common/search-gate.js';
import { Doctor } from './doctor.entity.js';
import { DoctorsRepository } from './doctors.repository.js';
import { DoctorsService } from './doctors.service.js';
import { doctorEntity } from '../../test/utils/factories.js';

const USER: AuthUser = { id: randomUUID(), username: 'ada', role: 'user', sessionId: randomUUID() };
const OTHER: AuthUser = { id: randomUUID(), username: 'bob', role: 'user', sessionId: randomUUID() };
const ADMIN: AuthUser = { id: randomUUID(), username: 'root', role: 'admin', sessionId: randomUUID() };
const INPUT = { name: 'Dr. Ada', specialization: 'Cardiology', email: 'Ada.Byron@Clinic.EXAMPLE', phone: '5551234567' };
const URL_ = new URL('http://localhost/api/doctors/');
const CREATED = new Date('2026-11-26T12:00:00.000Z');

const uniqueViolation = () => new QueryFailedError('INSERT', [], Object.assign(new Error('duplicate'), { code: '23505' }));

const doctor = (overrides: Partial<Doctor> = {}): Doctor => doctorEntity({ ...INPUT, createdById: USER.id, ...overrides });
const deletedOne = (id: string): Doctor => doctor({ id, version: 2, deletedAt: new Date(), deletedById: USER.id });

function fakeRepository() {
  return {
    sortFields: {
      name: { column: 'name', property: 'name', kind: 'string' as const },
      specialization: { column: 'specialization', property: 'specialization', kind: 'string' as const },
      created_at: { column: 'created_at', property: 'createdAt', kind: 'date' as const },
    },
    findById: jest.fn<DoctorsRepository['findById']>(async () => null),
    findForUpdate: jest.fn<DoctorsRepository['findForUpdate']>(async (id) => doctor({ id })),
    listPage: jest.fn<DoctorsRepository['listPage']>(async () => []),
    insert: jest.fn<DoctorsRepository['insert']>(async (values) =>
      Object.assign(new Doctor(), { id: randomUUID(), ...values, version: 1, createdAt: CREATED, updatedAt: CREATED }),
    ),
    update: jest.fn<DoctorsRepository['update']>(async () => null),
    softDelete: jest.fn<DoctorsRepository['softDelete']>(async () => null),
  };
}

describe(DoctorsService.name, () => {
  let tx: ReturnType<typeof fakeTransactions>;
  let service: DoctorsService;
  let repo: ReturnType<typeof fakeRepository>;
  let history: { record: jest.Mock<HistoryService['record']>; page: jest.Mock<HistoryService['page']> };

  beforeEach(async () => {
    repo = fakeRepository();
    history = { record: jest.fn<HistoryService['record']>(async () => undefined), page: jest.fn<HistoryService['page']>() };
    tx = fakeTransactions(undefined);
    const moduleRef = await Test.createTestingModule({
      providers: [
        DoctorsService,
        SearchGate,
        { provide: HistoryService, useValue: history },
        { provide: DoctorsRepository, useValue: repo },
        { provide: CursorCodec, useValue: new CursorCodec(randomBytes(32)) },
        { provide: DataSource, useValue: tx.dataSource },
        { provide: AuditService, useValue: tx.audit },
      ],
    }).compile();
    service = moduleRef.get(DoctorsService);
  });

  describe('create', () => {
    it('records the caller as creator, keeps the email as sent, and answers the response shape', async () => {
      const dto = await service.create(USER, { ...INPUT });
      expect(repo.insert).toHaveBeenCalledWith({ ...INPUT, createdById: USER.id }, tx.manager);
      expect(tx.audit.record).toHaveBeenCalledWith(expect.objectContaining({ action: 'create', resourceId: dto.id }), tx.manager);
      expect(dto).toEqual({
        id: expect.any(String),
        name: INPUT.name,
        specialization: INPUT.specialization,
        email: INPUT.email,
        phone: INPUT.phone,
        version: 1,
        created_at: '2026-11-26T12:00:00.000Z',
        updated_at: '2026-11-26T12:00:00.000Z',
      });
    });

    it('a unique violation (the email) is a 409', async () => {
      repo.insert.mockRejectedValueOnce(uniqueViolation());
      await expect(service.create(USER, { ...INPUT })).rejects.toBeInstanceOf(ConflictException);
    });

    it('other database errors pass through', async () => {
      const boom = new Error('connection lost');
      repo.insert.mockRejectedValueOnce(boom);
      await expect(service.create(USER, { ...INPUT })).rejects.toBe(boom);
    });
  });

  describe('update', () => {
    const row = doctor();

    it('a user may change only what they created', async () => {
      repo.update.mockResolvedValueOnce(row);
      const dto = await service.update(USER, row.id, { name: 'New' });
      expect(repo.update).toHaveBeenCalledWith(row.id, { name: 'New' }, USER.id, tx.manager, {});
      expect(dto).toEqual({
        id: row.id,
        name: INPUT.name,
        specialization: INPUT.specialization,
        email: INPUT.email,
        phone: INPUT.phone,
        version: 1,
        created_at: '2026-11-26T12:00:00.000Z',
        updated_at: '2026-11-26T12:00:01.000Z',
      });
    });

    it('an admin may change any doctor', async () => {
      repo.update.mockResolvedValueOnce(row);
      await service.update(ADMIN, row.id, { phone: '0000000000' });
      expect(repo.update).toHaveBeenCalledWith(row.id, { phone: '0000000000' }, undefined, tx.manager, {});
    });

    it('stores a changed email byte for byte', async () => {
      repo.update.mockResolvedValueOnce(row);
      await service.update(USER, row.id, { email: 'X@EXAMPLE.ORG' });
      expect(repo.update.mock.calls[0][1]).toMatchObject({ email: 'X@EXAMPLE.ORG' });
    });

    it('no row updated: 403 when the doctor exists (someone else’s), 404 when it does not', async () => {
      repo.findById.mockResolvedValueOnce(doctor({ createdById: OTHER.id }));
      await expect(service.update(USER, row.id, { name: 'X' })).rejects.toBeInstanceOf(ForbiddenException);
      await expect(service.update(USER, row.id, { name: 'X' })).rejects.toBeInstanceOf(NotFoundException);
      expect(tx.audit.record).not.toHaveBeenCalled();
    });

    it('passes If-Match on to the UPDATE; no row updated with conditions: 412 with the current version for the creator, 403 for others', async () => {
      const conditions = { ifMatch: [1] };
      repo.findById.mockResolvedValue(doctor({ id: row.id, version: 4 }));
      const refused = service.update(USER, row.id, { name: 'X' }, conditions);
      await expect(refused).rejects.toBeInstanceOf(PreconditionFailedException);
      await expect(refused).rejects.toMatchObject({ currentVersion: 4 });
      expect(repo.update).toHaveBeenCalledWith(row.id, { name: 'X' }, USER.id, tx.manager, conditions);
      await expect(service.update(OTHER, row.id, { name: 'X' }, conditions)).rejects.toBeInstanceOf(ForbiddenException);
      await expect(service.remove(ADMIN, row.id, conditions)).rejects.toBeInstanceOf(PreconditionFailedException);
      expect(tx.audit.record).not.toHaveBeenCalled();
    });

    it('a unique violation (the email) is a 409', async () => {
      repo.update.mockRejectedValueOnce(uniqueViolation());
      await expect(service.update(USER, row.id, { email: 'taken@example.org' })).rejects.toBeInstanceOf(
        ConflictException,
      );
    });
  });

  describe('remove', () => {
    it('deletes the caller’s own doctor', async () => {
      const id = randomUUID();
      repo.softDelete.mockResolvedValueOnce(deletedOne(id));
      await expect(service.remove(USER, id)).resolves.toBeUndefined();
      expect(repo.softDelete).toHaveBeenCalledWith(id, USER.id, USER.id, tx.manager, {});
    });

    it('an admin deletes without the creator condition', async () => {
      const id = randomUUID();
      repo.softDelete.mockResolvedValueOnce(deletedOne(id));
      await service.remove(ADMIN, id);
      expect(repo.softDelete).toHaveBeenCalledWith(id, ADMIN.id, undefined, tx.manager, {});
    });

    it('nothing deleted: 403 for someone else’s doctor, 404 for a missing one', async () => {
      repo.findById.mockResolvedValueOnce(doctor({ createdById: OTHER.id }));
      await expect(service.remove(USER, randomUUID())).rejects.toBeInstanceOf(ForbiddenException);
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
      await expect(service.list(USER, { ordering: 'email' }, URL_)).rejects.toBeInstanceOf(ValidationFailedException);
      expect(repo.listPage).not.toHaveBeenCalled();
    });

    it('passes search and specialization on; empty ones are none', async () => {
      await service.list(USER, { search: 'card', specialization: 'Cardiology' }, URL_);
      await service.list(USER, { search: '', specialization: '' }, URL_);
      expect(repo.listPage.mock.calls.map((c) => c[0])).toEqual([
        { search: 'card', specialization: 'Cardiology' },
        { search: undefined, specialization: undefined },
      ]);
    });

    it('a cursor works only for the user it was given to', async () => {
      repo.listPage.mockResolvedValueOnce([doctor(), doctor()]);
      const first = await service.list(USER, { page_size: 1, ordering: 'name' }, URL_);
      const cursor = new URL(first.next!).searchParams.get('cursor')!;
      await expect(service.list(USER, { page_size: 1, ordering: 'name', cursor }, URL_)).resolves.toBeDefined();
      await expect(service.list(OTHER, { page_size: 1, ordering: 'name', cursor }, URL_)).rejects.toBeInstanceOf(
        ValidationFailedException,
      );
    });

    it(`searches count against the same per-user bound (${SEARCHES_PER_USER}): beyond it, 429`, async () => {
      const release: Array<() => void> = [];
      repo.listPage.mockImplementation(() => new Promise<Doctor[]>((done) => release.push(() => done([]))));
      const running = Array.from({ length: SEARCHES_PER_USER }, () => service.list(USER, { search: 'card' }, URL_));
      const refused = await service.list(USER, { search: 'card' }, URL_).catch((e: unknown) => e);
      expect((refused as HttpException).getStatus()).toBe(429);
      release.forEach((done) => done());
      await Promise.all(running);
    });
  });
});
