// Past 250 lines: one suite for the one class, a describe per service method; splitting it would scatter its rules.
import { randomBytes, randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { HttpException, NotFoundException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { fakeTransactions } from '../../test/utils/fake-transactions.js';
import { AuditService } from '../audit/audit.service.js';
import type { AuthUser } from '../auth/current-user.decorator.js';
import { CursorCodec } from '../common/pagination/cursor-codec.js';
import type { PageRequest } from '../common/pagination/keyset-query.js';
import { ValidationFailedException } from '../common/problem.js';
import { HistoryService } from '../history/history.service.js';
import { SEARCHES_PER_USER, SearchGate } from '../common/search-gate.js';
import { Patient } from './patient.entity.js';
import { PatientsRepository } from './patients.repository.js';
import { AppConfig, validate } from '../config/app-config.js';
import { PatientsService } from './patients.service.js';
import { patientEntity } from '../../test/utils/factories.js';

const USER: AuthUser = { id: randomUUID(), username: 'ada', role: 'user', sessionId: randomUUID() };
const OTHER: AuthUser = { id: randomUUID(), username: 'bob', role: 'user', sessionId: randomUUID() };
const ADMIN: AuthUser = { id: randomUUID(), username: 'root', role: 'admin', sessionId: randomUUID() };
const INPUT = { name: 'Grace Hopper', age: 42, gender: 'female' as const, address: '12 Harbour Road' };
const URL_ = new URL('http://localhost/api/patients/');
const CREATED = new Date('2026-11-26T12:00:00.000Z');
const UPDATED = new Date('2026-11-26T12:00:01.000Z');

const patient = (overrides: Partial<Patient> = {}): Patient => patientEntity({ ownerId: USER.id, ...INPUT, ...overrides });
const deletedOne = (id: string): Patient => patient({ id, version: 2, deletedAt: UPDATED, deletedById: USER.id });

/** The repository as Nest injects it, each method a mock; sort fields as metadata gives them. */
function fakeRepository() {
  return {
    sortFields: {
      name: { column: 'name', property: 'name', kind: 'string' as const },
      created_at: { column: 'created_at', property: 'createdAt', kind: 'date' as const },
      age: { column: 'age', property: 'age', kind: 'number' as const },
    },
    findById: jest.fn<PatientsRepository['findById']>(async () => null),
    findForUpdate: jest.fn<PatientsRepository['findForUpdate']>(async (id) => patient({ id })),
    listPage: jest.fn<PatientsRepository['listPage']>(async () => []),
    listPageWithOwners: jest.fn<PatientsRepository['listPageWithOwners']>(async () => []),
    insert: jest.fn<PatientsRepository['insert']>(async (values) =>
      Object.assign(new Patient(), { id: randomUUID(), ...values, version: 1, createdAt: CREATED, updatedAt: CREATED }),
    ),
    update: jest.fn<PatientsRepository['update']>(async () => null),
    softDelete: jest.fn<PatientsRepository['softDelete']>(async () => null),
  };
}

describe(PatientsService.name, () => {
  let tx: ReturnType<typeof fakeTransactions>;
  let service: PatientsService;
  let repo: ReturnType<typeof fakeRepository>;
  let history: { record: jest.Mock<HistoryService['record']>; page: jest.Mock<HistoryService['page']> };

  beforeEach(async () => {
    repo = fakeRepository();
    history = { record: jest.fn<HistoryService['record']>(async () => undefined), page: jest.fn<HistoryService['page']>() };
    tx = fakeTransactions(undefined);
    const moduleRef = await Test.createTestingModule({
      providers: [
        PatientsService,
        SearchGate,
        { provide: HistoryService, useValue: history },
        { provide: PatientsRepository, useValue: repo },
        { provide: CursorCodec, useValue: new CursorCodec(randomBytes(32)) },
        { provide: DataSource, useValue: tx.dataSource },
        { provide: AuditService, useValue: tx.audit },
        { provide: AppConfig, useValue: validate({}) },
      ],
    }).compile();
    service = moduleRef.get(PatientsService);
  });

  /** The page request of the n-th listPage call. */
  const pageOfCall = (n = 0) => repo.listPage.mock.calls[n][1] as PageRequest;

  describe('create', () => {
    it('takes the owner from the caller, inserts in the transaction with its audit event, and answers the response shape', async () => {
      const dto = await service.create(USER, { ...INPUT });
      expect(repo.insert).toHaveBeenCalledWith({ ...INPUT, ownerId: USER.id }, tx.manager);
      expect(tx.audit.record).toHaveBeenCalledWith(
        expect.objectContaining({ action: 'create', resourceType: 'patient', resourceId: dto.id, patientId: dto.id }),
        tx.manager,
      );
      expect(dto).toEqual({
        id: expect.any(String),
        name: INPUT.name,
        age: INPUT.age,
        gender: INPUT.gender,
        address: INPUT.address,
        version: 1,
        created_at: '2026-11-26T12:00:00.000Z',
        updated_at: '2026-11-26T12:00:00.000Z',
      });
      expect(dto).not.toHaveProperty('owner_id');
      expect(dto).not.toHaveProperty('ownerId');
    });

    it('ignores an owner smuggled into the body', async () => {
      const smuggled = { ...INPUT, ownerId: randomUUID() } as typeof INPUT;
      await service.create(USER, smuggled);
      expect(repo.insert.mock.calls[0][0]).toMatchObject({ ownerId: USER.id });
    });

    it('an omitted address is stored as the empty string', async () => {
      const { address: _address, ...withoutAddress } = INPUT;
      const dto = await service.create(USER, withoutAddress);
      expect(repo.insert.mock.calls[0][0]).toMatchObject({ address: '' });
      expect(dto.address).toBe('');
    });
  });

  describe('list', () => {
    it('a user sees only their own patients', async () => {
      await service.list(USER, {}, URL_);
      expect(repo.listPage.mock.calls[0][0]).toMatchObject({ ownerId: USER.id });
    });

    it('an admin sees every patient', async () => {
      await service.list(ADMIN, {}, URL_);
      expect(repo.listPage.mock.calls[0][0].ownerId).toBeUndefined();
    });

    it('passes search, gender and the inclusive age range on; an empty search is none', async () => {
      await service.list(USER, { search: 'ann', gender: 'male', min_age: 0, max_age: 65 }, URL_);
      expect(repo.listPage.mock.calls[0][0]).toEqual({ ownerId: USER.id, search: 'ann', gender: 'male', minAge: 0, maxAge: 65 });
      await service.list(USER, { search: '' }, URL_);
      expect(repo.listPage.mock.calls[1][0].search).toBeUndefined();
    });

    it('orders newest first by default and asks for the page size', async () => {
      await service.list(USER, { page_size: 5 }, URL_);
      expect(pageOfCall()).toMatchObject({ pageSize: 5, ordering: { key: '-created_at', descending: true } });
      expect(pageOfCall().ordering.field).toMatchObject({ column: 'created_at' });
    });

    it('maps rows to response DTOs and links the next page when there are more', async () => {
      const rows = [patient({ name: 'A' }), patient({ name: 'B' }), patient({ name: 'C' })];
      repo.listPage.mockResolvedValueOnce(rows);
      const page = await service.list(USER, { page_size: 2, ordering: 'name' }, URL_);
      expect(page.results.map((p) => p.name)).toEqual(['A', 'B']);
      expect(page.results[0]).toEqual({
        id: rows[0].id,
        name: 'A',
        age: INPUT.age,
        gender: INPUT.gender,
        address: INPUT.address,
        version: 1,
        created_at: CREATED.toISOString(),
        updated_at: UPDATED.toISOString(),
      });
      expect(page.previous).toBeNull();
      expect(page.next).toEqual(expect.stringContaining('cursor='));
    });

    it('the next link’s cursor continues after the last row shown, still within the caller’s patients', async () => {
      repo.listPage.mockResolvedValueOnce([patient({ name: 'A' }), patient({ name: 'B' }), patient({ name: 'C' })]);
      const first = await service.list(USER, { page_size: 2, ordering: 'name' }, URL_);
      const cursor = new URL(first.next!).searchParams.get('cursor')!;
      await service.list(USER, { page_size: 2, ordering: 'name', cursor }, URL_);
      expect(repo.listPage.mock.calls[1][0]).toMatchObject({ ownerId: USER.id });
      expect(pageOfCall(1).cursor).toEqual({ v: 'B', i: first.results[1].id, r: false });
    });

    it('a cursor made for another ordering is refused', async () => {
      repo.listPage.mockResolvedValueOnce([patient(), patient()]);
      const first = await service.list(USER, { page_size: 1, ordering: 'name' }, URL_);
      const cursor = new URL(first.next!).searchParams.get('cursor')!;
      await expect(service.list(USER, { ordering: '-age', cursor }, URL_)).rejects.toBeInstanceOf(
        ValidationFailedException,
      );
    });

    it('a cursor made for another user, or for the admin list, is refused before querying', async () => {
      repo.listPage.mockResolvedValueOnce([patient(), patient()]);
      const first = await service.list(USER, { page_size: 1, ordering: 'name' }, URL_);
      const cursor = new URL(first.next!).searchParams.get('cursor')!;
      await expect(service.list(OTHER, { ordering: 'name', cursor }, URL_)).rejects.toBeInstanceOf(ValidationFailedException);
      await expect(service.list({ ...USER, role: 'admin' }, { ordering: 'name', cursor }, URL_)).rejects.toBeInstanceOf(
        ValidationFailedException,
      );
      await expect(service.listAll(ADMIN, { ordering: 'name', cursor }, URL_)).rejects.toBeInstanceOf(ValidationFailedException);
      expect(repo.listPage).toHaveBeenCalledTimes(1);
      expect(repo.listPageWithOwners).not.toHaveBeenCalled();
    });

    it('refuses an ordering outside the allow-list before querying', async () => {
      await expect(service.list(USER, { ordering: 'owner_id' }, URL_)).rejects.toBeInstanceOf(
        ValidationFailedException,
      );
      expect(repo.listPage).not.toHaveBeenCalled();
    });

    it(`a user runs at most ${SEARCHES_PER_USER} searches at once: the next is 429 with Retry-After; others are not held up`, async () => {
      const release: Array<() => void> = [];
      repo.listPage.mockImplementation(
        (filter) => (filter.search ? new Promise<Patient[]>((done) => release.push(() => done([]))) : Promise.resolve([])),
      );
      const running = Array.from({ length: SEARCHES_PER_USER }, () => service.list(USER, { search: 'ann' }, URL_));
      const refused = await service.list(USER, { search: 'ann' }, URL_).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(HttpException);
      expect((refused as HttpException).getStatus()).toBe(429);
      expect((refused as HttpException).getResponse()).toMatchObject({ retryAfter: 1 });
      // Another user's search, and the same user's plain list, still run.
      const otherSearch = service.list(OTHER, { search: 'ann' }, URL_);
      await expect(service.list(USER, {}, URL_)).resolves.toMatchObject({ results: [] });
      release.forEach((done) => done());
      await Promise.all([...running, otherSearch]);
      // Slots come back once the searches end.
      const again = service.list(USER, { search: 'ann' }, URL_);
      release.pop()!();
      await expect(again).resolves.toMatchObject({ results: [] });
    });
  });

  describe('listAll', () => {
    it('every owner by default, one owner when asked, with owners joined', async () => {
      await service.listAll(ADMIN, {}, URL_);
      await service.listAll(ADMIN, { owner: USER.id, search: 'ann' }, URL_);
      expect(repo.listPageWithOwners.mock.calls.map((c) => c[0].ownerId)).toEqual([undefined, USER.id]);
      expect(repo.listPageWithOwners.mock.calls[1][0].search).toBe('ann');
    });
  });

  describe('get / findVisible', () => {
    it('a user looks only among their own patients', async () => {
      const own = patient();
      repo.findById.mockResolvedValueOnce(own);
      await expect(service.findVisible(USER, own.id)).resolves.toEqual(own);
      expect(repo.findById).toHaveBeenCalledWith(own.id, USER.id);
    });

    it('an admin looks among all patients', async () => {
      const other = patient({ ownerId: randomUUID() });
      repo.findById.mockResolvedValueOnce(other);
      const dto = await service.get(ADMIN, other.id);
      expect(dto.id).toBe(other.id);
      expect(repo.findById).toHaveBeenCalledWith(other.id, undefined);
    });

    it('someone else’s patient and a missing one are both 404', async () => {
      await expect(service.findVisible(USER, randomUUID())).rejects.toBeInstanceOf(NotFoundException);
      await expect(service.get(USER, randomUUID())).rejects.toBeInstanceOf(NotFoundException);
    });
  });

  describe('update', () => {
    const id = randomUUID();
    const updated = patient({ id, name: 'New', age: 43, address: '' });

    it('a user changes only their own patient, and only the fields sent', async () => {
      repo.update.mockResolvedValueOnce(updated);
      const dto = await service.update(USER, id, { name: 'New', age: 43 });
      expect(repo.update).toHaveBeenCalledWith(id, { name: 'New', age: 43 }, USER.id, tx.manager, {});
      expect(tx.audit.record).toHaveBeenCalledWith(expect.objectContaining({ action: 'update', patientId: id }), tx.manager);
      expect(dto).toEqual({
        id,
        name: 'New',
        age: 43,
        gender: 'female',
        address: '',
        version: 1,
        created_at: '2026-11-26T12:00:00.000Z',
        updated_at: '2026-11-26T12:00:01.000Z',
      });
    });

    it('writes the history entry of the change in its transaction: the new version, the caller, the fields that changed', async () => {
      repo.findForUpdate.mockResolvedValueOnce(patient({ id, name: 'Old', age: 43, address: '' }));
      repo.update.mockResolvedValueOnce(patient({ id, name: 'New', age: 43, address: '', version: 2 }));
      await service.update(USER, id, { name: 'New', age: 43 });
      expect(history.record).toHaveBeenCalledWith(
        'patient',
        id,
        { version: 2, action: 'update', changedById: USER.id, changes: { name: { from: 'Old', to: 'New' } } },
        tx.manager,
      );
    });

    it('a patient the caller cannot reach is 404 before any UPDATE, and no entry is written', async () => {
      repo.findForUpdate.mockResolvedValueOnce(null);
      await expect(service.update(USER, id, { name: 'X' })).rejects.toBeInstanceOf(NotFoundException);
      expect(repo.update).not.toHaveBeenCalled();
      expect(history.record).not.toHaveBeenCalled();
    });

    it('an admin changes any patient: no owner condition', async () => {
      repo.update.mockResolvedValueOnce(updated);
      await service.update(ADMIN, id, { address: 'Elsewhere' });
      expect(repo.update).toHaveBeenCalledWith(id, { address: 'Elsewhere' }, undefined, tx.manager, {});
    });

    it('no row updated (someone else’s or missing) is 404, and nothing is recorded', async () => {
      await expect(service.update(USER, id, { name: 'X' })).rejects.toBeInstanceOf(NotFoundException);
      expect(tx.audit.record).not.toHaveBeenCalled();
    });
  });

  describe('remove', () => {
    it('deletes the caller’s own patient', async () => {
      const id = randomUUID();
      repo.softDelete.mockResolvedValueOnce(deletedOne(id));
      await expect(service.remove(USER, id)).resolves.toBeUndefined();
      expect(repo.softDelete).toHaveBeenCalledWith(id, USER.id, USER.id, tx.manager, {});
      expect(tx.audit.record).toHaveBeenCalledWith(expect.objectContaining({ action: 'delete', patientId: id }), tx.manager);
    });

    it('an admin deletes without the owner condition', async () => {
      const id = randomUUID();
      repo.softDelete.mockResolvedValueOnce(deletedOne(id));
      await service.remove(ADMIN, id);
      expect(repo.softDelete).toHaveBeenCalledWith(id, ADMIN.id, undefined, tx.manager, {});
    });

    it('nothing deleted (someone else’s or missing) is 404', async () => {
      await expect(service.remove(USER, randomUUID())).rejects.toBeInstanceOf(NotFoundException);
    });
  });
});
