// Past 250 lines: one suite for the one class, a describe per service method; splitting it would scatter its rules.
import { randomBytes, randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ConflictException, NotFoundException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource, QueryFailedError } from 'typeorm';
import { fakeTransactions } from '../../test/utils/fake-transactions.js';
import { AuditService } from '../audit/audit.service.js';
import type { AuthUser } from '../auth/current-user.decorator.js';
import { CursorCodec } from '../common/pagination/cursor-codec.js';
import type { PageRequest } from '../common/pagination/keyset-query.js';
import { ValidationFailedException } from '../common/problem.js';
import { Patient } from '../patients/patient.entity.js';
import { PatientsService } from '../patients/patients.service.js';
import { Mapping } from './mapping.entity.js';
import { MappingsRepository } from './mappings.repository.js';
import { MappingsService } from './mappings.service.js';
import { doctorEntity, mappingEntity, patientEntity } from '../../test/utils/factories.js';

const USER: AuthUser = { id: randomUUID(), username: 'ada', role: 'user', sessionId: randomUUID() };
const ADMIN: AuthUser = { id: randomUUID(), username: 'root', role: 'admin', sessionId: randomUUID() };
const URL_ = new URL('http://localhost/api/mappings/');
const CREATED = new Date('2026-11-26T12:00:00.000Z');
const UPDATED = new Date('2026-11-26T12:00:01.000Z');

const patient = (overrides: Partial<Patient> = {}): Patient => patientEntity({ ownerId: USER.id, ...overrides });
const doctor = doctorEntity;

const mapping = (overrides: Partial<Mapping> = {}): Mapping => mappingEntity({ ownerId: USER.id, ...overrides });

const dbError = (fields: { code: string; constraint?: string }) =>
  new QueryFailedError('INSERT', [], Object.assign(new Error('x'), fields));

const notFound = () => new NotFoundException('Patient not found.');

function fakeRepository() {
  return {
    sortFields: { created_at: { column: 'created_at', property: 'createdAt', kind: 'date' as const } },
    listPage: jest.fn<MappingsRepository['listPage']>(async () => []),
    listPageWithNames: jest.fn<MappingsRepository['listPageWithNames']>(async () => []),
    listPageWithDoctors: jest.fn<MappingsRepository['listPageWithDoctors']>(async () => []),
    insert: jest.fn<MappingsRepository['insert']>(async (values) =>
      Object.assign(new Mapping(), { id: randomUUID(), ...values, createdAt: CREATED }),
    ),
    delete: jest.fn<MappingsRepository['delete']>(async () => null),
    lockEnds: jest.fn<MappingsRepository['lockEnds']>(async () => ({ patient: true, doctor: true })),
  };
}

describe(MappingsService.name, () => {
  let tx: ReturnType<typeof fakeTransactions>;
  let service: MappingsService;
  let repo: ReturnType<typeof fakeRepository>;
  const patients = { findVisible: jest.fn<PatientsService['findVisible']>() };
  /** Every call that reads a page or writes, whatever the method. */
  const queried = () =>
    repo.listPage.mock.calls.length +
    repo.listPageWithNames.mock.calls.length +
    repo.listPageWithDoctors.mock.calls.length +
    repo.insert.mock.calls.length;

  beforeEach(async () => {
    repo = fakeRepository();
    patients.findVisible.mockReset();
    tx = fakeTransactions(undefined);
    const moduleRef = await Test.createTestingModule({
      providers: [
        MappingsService,
        { provide: MappingsRepository, useValue: repo },
        { provide: PatientsService, useValue: patients },
        { provide: CursorCodec, useValue: new CursorCodec(randomBytes(32)) },
        { provide: DataSource, useValue: tx.dataSource },
        { provide: AuditService, useValue: tx.audit },
      ],
    }).compile();
    service = moduleRef.get(MappingsService);
  });

  describe('create', () => {
    it('a patient or doctor deleted (marked) by the time the transaction locks them is 404, nothing inserted', async () => {
      const own = patient();
      patients.findVisible.mockResolvedValue(own);
      repo.lockEnds.mockResolvedValueOnce({ patient: false, doctor: true });
      await expect(service.create(USER, { patient: own.id, doctor: randomUUID() })).rejects.toThrow('Patient not found.');
      repo.lockEnds.mockResolvedValueOnce({ patient: true, doctor: false });
      await expect(service.create(USER, { patient: own.id, doctor: randomUUID() })).rejects.toThrow('Doctor not found.');
      expect(repo.insert).not.toHaveBeenCalled();
    });

    it('looks the patient up as the caller and inserts patient, owner and doctor', async () => {
      const own = patient();
      const doctorId = randomUUID();
      patients.findVisible.mockResolvedValue(own);
      await service.create(USER, { patient: own.id, doctor: doctorId });
      expect(patients.findVisible).toHaveBeenCalledWith(USER, own.id);
      expect(repo.insert).toHaveBeenCalledWith({ patientId: own.id, ownerId: USER.id, doctorId }, tx.manager);
    });

    it('the owner is the patient’s, not the admin’s, when an admin assigns another user’s patient', async () => {
      const someoneElses = patient({ ownerId: randomUUID() });
      patients.findVisible.mockResolvedValue(someoneElses);
      await service.create(ADMIN, { patient: someoneElses.id, doctor: randomUUID() });
      expect(patients.findVisible).toHaveBeenCalledWith(ADMIN, someoneElses.id);
      const values = repo.insert.mock.calls[0][0];
      expect(values.ownerId).toBe(someoneElses.ownerId);
      expect(values.ownerId).not.toBe(ADMIN.id);
    });

    it('answers {id, patient, doctor, created_at}', async () => {
      const own = patient();
      const doctorId = randomUUID();
      patients.findVisible.mockResolvedValue(own);
      const dto = await service.create(USER, { patient: own.id, doctor: doctorId });
      expect(dto).toEqual({
        id: expect.any(String),
        patient: own.id,
        doctor: doctorId,
        created_at: CREATED.toISOString(),
      });
      expect(dto).not.toHaveProperty('ownerId');
      expect(dto).not.toHaveProperty('owner_id');
    });

    it('a patient the caller may not see is 404 and nothing is inserted', async () => {
      const error = notFound();
      patients.findVisible.mockRejectedValue(error);
      await expect(service.create(USER, { patient: randomUUID(), doctor: randomUUID() })).rejects.toBe(error);
      expect(queried()).toBe(0);
    });

    it('a unique violation (the pair is already assigned) is a 409', async () => {
      patients.findVisible.mockResolvedValue(patient());
      repo.insert.mockRejectedValueOnce(dbError({ code: '23505', constraint: 'patient_doctor_mappings_pair_key' }));
      await expect(service.create(USER, { patient: randomUUID(), doctor: randomUUID() })).rejects.toBeInstanceOf(
        ConflictException,
      );
    });

    it('a foreign-key violation on the doctor is 404 "Doctor not found."', async () => {
      patients.findVisible.mockResolvedValue(patient());
      repo.insert.mockRejectedValueOnce(dbError({ code: '23503', constraint: 'patient_doctor_mappings_doctor_id_fkey' }));
      const promise = service.create(USER, { patient: randomUUID(), doctor: randomUUID() });
      await expect(promise).rejects.toBeInstanceOf(NotFoundException);
      await expect(promise).rejects.toThrow('Doctor not found.');
    });

    it('a foreign-key violation on the patient (deleted meanwhile) is 404 "Patient not found."', async () => {
      patients.findVisible.mockResolvedValue(patient());
      repo.insert.mockRejectedValueOnce(dbError({ code: '23503', constraint: 'patient_doctor_mappings_patient_id_fkey' }));
      const promise = service.create(USER, { patient: randomUUID(), doctor: randomUUID() });
      await expect(promise).rejects.toBeInstanceOf(NotFoundException);
      await expect(promise).rejects.toThrow('Patient not found.');
    });

    it('other database errors pass through', async () => {
      patients.findVisible.mockResolvedValue(patient());
      const checkViolation = dbError({ code: '23514' });
      repo.insert.mockRejectedValueOnce(checkViolation);
      await expect(service.create(USER, { patient: randomUUID(), doctor: randomUUID() })).rejects.toBe(
        checkViolation,
      );
      const boom = new Error('connection lost');
      repo.insert.mockRejectedValueOnce(boom);
      await expect(service.create(USER, { patient: randomUUID(), doctor: randomUUID() })).rejects.toBe(boom);
    });
  });

  describe('list', () => {
    it('a user sees only the mappings of their own patients', async () => {
      await service.list(USER, {}, URL_);
      expect(repo.listPage.mock.calls[0][0]).toEqual({ ownerId: USER.id });
    });

    it('an admin sees every mapping: no owner condition', async () => {
      await service.list(ADMIN, {}, URL_);
      expect(repo.listPage.mock.calls[0][0]).toEqual({ ownerId: undefined });
    });

    it('orders newest first and asks for the page size', async () => {
      await service.list(USER, { page_size: 5 }, URL_);
      const page = repo.listPage.mock.calls[0][1] as PageRequest;
      expect(page).toMatchObject({ pageSize: 5, ordering: { key: '-created_at', descending: true } });
    });

    it('maps rows to {id, patient, doctor, created_at}', async () => {
      const row = mapping();
      repo.listPage.mockResolvedValueOnce([row]);
      const page = await service.list(USER, {}, URL_);
      expect(page).toEqual({
        next: null,
        previous: null,
        results: [{ id: row.id, patient: row.patientId, doctor: row.doctorId, created_at: row.createdAt.toISOString() }],
      });
    });

    it('a cursor works only for the user it was given to', async () => {
      repo.listPage.mockResolvedValueOnce([mapping(), mapping()]);
      const first = await service.list(USER, { page_size: 1 }, URL_);
      const cursor = new URL(first.next!).searchParams.get('cursor')!;
      const other: AuthUser = { ...USER, id: randomUUID() };
      await expect(service.list(other, { cursor }, URL_)).rejects.toBeInstanceOf(ValidationFailedException);
      await expect(service.listAll(ADMIN, { cursor }, URL_)).rejects.toBeInstanceOf(ValidationFailedException);
    });
  });

  describe('listAll', () => {
    it('passes the patient, doctor and owner filters on, with the names joined', async () => {
      const [patientId, doctorId, ownerId] = [randomUUID(), randomUUID(), randomUUID()];
      await service.listAll(ADMIN, { patient: patientId, doctor: doctorId, owner: ownerId }, URL_);
      expect(repo.listPageWithNames.mock.calls[0][0]).toEqual({ patientId, doctorId, ownerId });
    });
  });

  describe('doctorsOf', () => {
    const URL_DOCTORS = (id: string) => new URL(`http://localhost/api/mappings/${id}/`);

    it('checks the patient through findVisible first: its 404 propagates and no page is queried', async () => {
      const error = notFound();
      patients.findVisible.mockRejectedValue(error);
      const id = randomUUID();
      await expect(service.doctorsOf(USER, id, {}, URL_DOCTORS(id))).rejects.toBe(error);
      expect(patients.findVisible).toHaveBeenCalledWith(USER, id);
      expect(queried()).toBe(0);
    });

    it('joins the doctor and filters by the patient, newest assignment first', async () => {
      const own = patient();
      patients.findVisible.mockResolvedValue(own);
      await service.doctorsOf(USER, own.id, { page_size: 3 }, URL_DOCTORS(own.id));
      expect(repo.listPageWithDoctors.mock.calls[0][0]).toEqual({ patientId: own.id });
      expect(repo.listPageWithDoctors.mock.calls[0][1]).toMatchObject({ pageSize: 3, ordering: { key: '-created_at' } });
    });

    it('maps each row to the doctor’s fields plus mapping_id and assigned_at', async () => {
      const own = patient();
      patients.findVisible.mockResolvedValue(own);
      const d = doctor();
      const row = mapping({ patientId: own.id, doctor: d, doctorId: d.id });
      repo.listPageWithDoctors.mockResolvedValueOnce([row]);
      const page = await service.doctorsOf(USER, own.id, {}, URL_DOCTORS(own.id));
      expect(page.results).toEqual([
        {
          id: d.id,
          name: d.name,
          specialization: d.specialization,
          email: d.email,
          phone: d.phone,
          version: 1,
          created_at: CREATED.toISOString(),
          updated_at: UPDATED.toISOString(),
          mapping_id: row.id,
          assigned_at: row.createdAt.toISOString(),
        },
      ]);
      expect(page.next).toBeNull();
      expect(page.previous).toBeNull();
    });

    it('a cursor made for another patient’s list is refused', async () => {
      const a = patient();
      const b = patient();
      patients.findVisible.mockImplementation(async (_user, id) => (id === a.id ? a : b));
      repo.listPageWithDoctors.mockResolvedValueOnce([mapping({ patientId: a.id }), mapping({ patientId: a.id })]);
      const first = await service.doctorsOf(USER, a.id, { page_size: 1 }, URL_DOCTORS(a.id));
      expect(first.next).not.toBeNull();
      const cursor = new URL(first.next!).searchParams.get('cursor')!;

      // The cursor is good for patient A's list...
      await expect(service.doctorsOf(USER, a.id, { page_size: 1, cursor }, URL_DOCTORS(a.id))).resolves.toBeDefined();
      // ...but not for patient B's.
      const before = queried();
      await expect(
        service.doctorsOf(USER, b.id, { page_size: 1, cursor }, URL_DOCTORS(b.id)),
      ).rejects.toBeInstanceOf(ValidationFailedException);
      expect(queried()).toBe(before);
    });
  });

  describe('remove', () => {
    it('deletes a mapping of the caller’s own patient, and records it in the same transaction', async () => {
      const id = randomUUID();
      const patientId = randomUUID();
      repo.delete.mockResolvedValueOnce(mapping({ id, patientId }));
      await expect(service.remove(USER, id)).resolves.toBeUndefined();
      expect(repo.delete).toHaveBeenCalledWith(id, USER.id, tx.manager);
      expect(tx.audit.record).toHaveBeenCalledWith(
        { action: 'delete', resourceType: 'mapping', resourceId: id, patientId, status: 204 },
        tx.manager,
      );
    });

    it('an admin deletes without the owner condition', async () => {
      const id = randomUUID();
      repo.delete.mockResolvedValueOnce(mapping({ id }));
      await service.remove(ADMIN, id);
      expect(repo.delete).toHaveBeenCalledWith(id, undefined, tx.manager);
    });

    it('nothing deleted (someone else’s or missing) is 404, and no event is recorded here', async () => {
      await expect(service.remove(USER, randomUUID())).rejects.toBeInstanceOf(NotFoundException);
      expect(tx.audit.record).not.toHaveBeenCalled();
    });
  });
});
