import { randomBytes, randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { NotFoundException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { getRepositoryToken } from '@nestjs/typeorm';
import { FAKE_SELECT, FakeQueryBuilder } from '../../test/utils/fake-query-builder.js';
import type { AuthUser } from '../auth/current-user.decorator.js';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { fakeTransactions } from '../../test/utils/fake-transactions.js';
import { CursorCodec } from '../common/pagination.js';
import { ValidationFailedException } from '../common/problem.js';
import { Patient } from './patient.entity.js';
import { PreparedSql } from '../database/prepared-sql.js';
import { PatientsService } from './patients.service.js';

const USER: AuthUser = { id: randomUUID(), username: 'ada', role: 'user', sessionId: randomUUID() };
const ADMIN: AuthUser = { id: randomUUID(), username: 'root', role: 'admin', sessionId: randomUUID() };
const INPUT = { name: 'Grace Hopper', age: 42, gender: 'female' as const, address: '12 Harbour Road' };
const URL_ = new URL('http://localhost/api/patients/');
const CREATED = new Date('2026-11-26T12:00:00.000Z');
const UPDATED = new Date('2026-11-26T12:00:01.000Z');

function patient(overrides: Partial<Patient> = {}): Patient {
  return Object.assign(new Patient(), {
    id: randomUUID(),
    ownerId: USER.id,
    ...INPUT,
    createdAt: CREATED,
    updatedAt: UPDATED,
    ...overrides,
  });
}

describe(PatientsService.name, () => {
  let tx: ReturnType<typeof fakeTransactions>;
  let service: PatientsService;
  let qb: FakeQueryBuilder<Patient>;
  let answer: () => Promise<unknown>;
  let rows: Patient[];
  let found: Patient | null;
  let findOneArgs: unknown[];

  beforeEach(async () => {
    answer = async () => ({});
    rows = [];
    found = null;
    findOneArgs = [];
    const repository = {
      createQueryBuilder: () => {
        qb = new FakeQueryBuilder<Patient>(
          () => answer(),
          async () => [...rows],
        );
        return qb;
      },
      create: (row: Partial<Patient>) => Object.assign(new Patient(), row),
      // What entityFromRow reads to map RETURNING rows: column name -> property (and type).
      metadata: {
        columns: ([['id','id'],['owner_id','ownerId'],['name','name'],['age','age'],['gender','gender'],['address','address'],['created_at','createdAt','timestamptz'],['updated_at','updatedAt','timestamptz']] as string[][]).map(([databaseName, propertyName, type]) => ({ databaseName, propertyName, type })),
      },
    };
    // The prepared lookup by id: answers `found` as the row the database would return.
    const sql = {
      query: async (text: string, values: unknown[]) => {
        // A list page: the rows as TypeORM's SELECT for alias p names them.
        if (text === FAKE_SELECT) {
          return [...rows].map((r) => ({
            p_id: r.id,
            p_owner_id: r.ownerId,
            p_name: r.name,
            p_age: r.age,
            p_gender: r.gender,
            p_address: r.address,
            p_created_at: r.createdAt,
            p_updated_at: r.updatedAt,
          }));
        }
        findOneArgs.push({ text, values });
        return found
          ? [
              {
                id: found.id,
                owner_id: found.ownerId,
                name: found.name,
                age: found.age,
                gender: found.gender,
                address: found.address,
                created_at: found.createdAt,
                updated_at: found.updatedAt,
              },
            ]
          : [];
      },
    };
    tx = fakeTransactions(repository);
    const moduleRef = await Test.createTestingModule({
      providers: [
        PatientsService,
        { provide: getRepositoryToken(Patient), useValue: repository },
        { provide: CursorCodec, useValue: new CursorCodec(randomBytes(32)) },
        { provide: DataSource, useValue: tx.dataSource },
        { provide: AuditService, useValue: tx.audit },
        { provide: PreparedSql, useValue: sql },
      ],
    }).compile();
    service = moduleRef.get(PatientsService);
  });

  describe('create', () => {
    beforeEach(() => {
      answer = async () => ({
        generatedMaps: [{ id: randomUUID(), ...qb.called('values')[0][0]!, createdAt: CREATED, updatedAt: CREATED }],
      });
    });

    it('takes the owner from the caller and answers the response shape', async () => {
      const dto = await service.create(USER, { ...INPUT });
      expect(qb.called('values')[0][0]).toEqual({ ...INPUT, ownerId: USER.id });
      expect(dto).toEqual({
        id: expect.any(String),
        name: INPUT.name,
        age: INPUT.age,
        gender: INPUT.gender,
        address: INPUT.address,
        created_at: '2026-11-26T12:00:00.000Z',
        updated_at: '2026-11-26T12:00:00.000Z',
      });
      expect(dto).not.toHaveProperty('owner_id');
      expect(dto).not.toHaveProperty('ownerId');
    });

    it('ignores an owner smuggled into the body', async () => {
      const smuggled = { ...INPUT, ownerId: randomUUID() } as typeof INPUT;
      await service.create(USER, smuggled);
      expect(qb.called('values')[0][0]).toMatchObject({ ownerId: USER.id });
    });

    it('an omitted address is stored as the empty string', async () => {
      const { address: _address, ...withoutAddress } = INPUT;
      const dto = await service.create(USER, withoutAddress);
      expect(qb.called('values')[0][0]).toMatchObject({ address: '' });
      expect(dto.address).toBe('');
    });
  });

  describe('list', () => {
    it('a user sees only their own patients', async () => {
      await service.list(USER, {}, URL_);
      expect(qb.called('andWhere')).toEqual([['p.owner_id = :ownerId', { ownerId: USER.id }]]);
    });

    it('an admin sees every patient', async () => {
      await service.list(ADMIN, {}, URL_);
      expect(qb.called('andWhere')).toEqual([]);
    });

    it('search is a case-insensitive substring with % and _ escaped', async () => {
      await service.list(ADMIN, { search: '50%_a\\b' }, URL_);
      expect(qb.called('andWhere')).toEqual([['p.name ILIKE :search', { search: '%50\\%\\_a\\\\b%' }]]);
    });

    it('filters by gender and an inclusive age range, after the owner condition', async () => {
      await service.list(USER, { gender: 'male', min_age: 0, max_age: 65 }, URL_);
      expect(qb.called('andWhere')).toEqual([
        ['p.owner_id = :ownerId', { ownerId: USER.id }],
        ['p.gender = :gender', { gender: 'male' }],
        ['p.age >= :minAge', { minAge: 0 }],
        ['p.age <= :maxAge', { maxAge: 65 }],
      ]);
    });

    it('orders newest first by default, id as tie-breaker, and fetches one row beyond the page', async () => {
      await service.list(USER, { page_size: 5 }, URL_);
      expect(qb.called('orderBy')).toEqual([['p.created_at', 'DESC']]);
      expect(qb.called('addOrderBy')).toEqual([['p.id', 'DESC']]);
      expect(qb.called('limit')).toEqual([[6]]);
    });

    it('maps rows to response DTOs and links the next page when there are more', async () => {
      rows = [patient({ name: 'A' }), patient({ name: 'B' }), patient({ name: 'C' })];
      const page = await service.list(USER, { page_size: 2, ordering: 'name' }, URL_);
      expect(page.results.map((p) => p.name)).toEqual(['A', 'B']);
      expect(page.results[0]).toEqual({
        id: rows[0].id,
        name: 'A',
        age: INPUT.age,
        gender: INPUT.gender,
        address: INPUT.address,
        created_at: CREATED.toISOString(),
        updated_at: UPDATED.toISOString(),
      });
      expect(page.previous).toBeNull();
      expect(page.next).toEqual(expect.stringContaining('cursor='));
    });

    it('the next link’s cursor continues after the last row shown, still within the caller’s patients', async () => {
      rows = [patient({ name: 'A' }), patient({ name: 'B' }), patient({ name: 'C' })];
      const first = await service.list(USER, { page_size: 2, ordering: 'name' }, URL_);
      const cursor = new URL(first.next!).searchParams.get('cursor')!;
      rows = [];
      await service.list(USER, { page_size: 2, ordering: 'name', cursor }, URL_);
      expect(qb.called('andWhere')).toEqual([
        ['p.owner_id = :ownerId', { ownerId: USER.id }],
        ['(p.name, p.id) > (:cursorValue, :cursorId)', { cursorValue: 'B', cursorId: first.results[1].id }],
      ]);
    });

    it('a cursor made for another ordering is refused', async () => {
      rows = [patient(), patient()];
      const first = await service.list(USER, { page_size: 1, ordering: 'name' }, URL_);
      const cursor = new URL(first.next!).searchParams.get('cursor')!;
      await expect(service.list(USER, { ordering: '-age', cursor }, URL_)).rejects.toBeInstanceOf(
        ValidationFailedException,
      );
    });

    it('refuses an ordering outside the allow-list before querying', async () => {
      await expect(service.list(USER, { ordering: 'owner_id' }, URL_)).rejects.toBeInstanceOf(
        ValidationFailedException,
      );
    });
  });

  describe('get / findVisible', () => {
    it('a user looks only among their own patients', async () => {
      const own = patient();
      found = own;
      await expect(service.findVisible(USER, own.id)).resolves.toEqual(own);
      expect(findOneArgs).toEqual([{ text: expect.stringMatching(/WHERE id = \$1 AND owner_id = \$2$/), values: [own.id, USER.id] }]);
    });

    it('an admin looks among all patients', async () => {
      const other = patient({ ownerId: randomUUID() });
      found = other;
      const dto = await service.get(ADMIN, other.id);
      expect(dto.id).toBe(other.id);
      expect(findOneArgs).toEqual([{ text: expect.stringMatching(/WHERE id = \$1$/), values: [other.id] }]);
    });

    it('someone else’s patient and a missing one are both 404', async () => {
      found = null;
      await expect(service.findVisible(USER, randomUUID())).rejects.toBeInstanceOf(NotFoundException);
      await expect(service.get(USER, randomUUID())).rejects.toBeInstanceOf(NotFoundException);
    });
  });

  describe('update', () => {
    const id = randomUUID();
    const row = {
      id,
      owner_id: USER.id,
      name: 'New',
      age: 43,
      gender: 'female',
      address: '',
      created_at: '2026-11-26T12:00:00.000Z',
      updated_at: new Date('2026-11-26T12:00:01.000Z'),
    };

    it('a user changes only their own patient, and only the fields sent', async () => {
      answer = async () => ({ raw: [row] });
      const dto = await service.update(USER, id, { name: 'New', age: 43 });
      expect(qb.called('where')).toEqual([['id = :id', { id }]]);
      expect(qb.called('andWhere')).toEqual([['owner_id = :ownerId', { ownerId: USER.id }]]);
      const changes = qb.called('set')[0][0] as Record<string, unknown>;
      expect(Object.keys(changes).sort()).toEqual(['age', 'name', 'updatedAt']);
      expect(changes).toMatchObject({ name: 'New', age: 43 });
      expect(dto).toEqual({
        id,
        name: 'New',
        age: 43,
        gender: 'female',
        address: '',
        created_at: '2026-11-26T12:00:00.000Z',
        updated_at: '2026-11-26T12:00:01.000Z',
      });
    });

    it('an admin changes any patient: no owner condition', async () => {
      answer = async () => ({ raw: [{ ...row, owner_id: randomUUID() }] });
      await service.update(ADMIN, id, { address: 'Elsewhere' });
      expect(qb.called('andWhere')).toEqual([]);
      expect(qb.called('set')[0][0]).toMatchObject({ address: 'Elsewhere' });
    });

    it('no row updated (someone else’s or missing) is 404', async () => {
      answer = async () => ({ raw: [] });
      await expect(service.update(USER, id, { name: 'X' })).rejects.toBeInstanceOf(NotFoundException);
    });
  });

  describe('remove', () => {
    it('deletes the caller’s own patient', async () => {
      const id = randomUUID();
      answer = async () => ({ affected: 1 });
      await expect(service.remove(USER, id)).resolves.toBeUndefined();
      expect(qb.called('delete')).toHaveLength(1);
      expect(qb.called('where')).toEqual([['id = :id', { id }]]);
      expect(qb.called('andWhere')).toEqual([['owner_id = :ownerId', { ownerId: USER.id }]]);
    });

    it('an admin deletes without the owner condition', async () => {
      answer = async () => ({ affected: 1 });
      await service.remove(ADMIN, randomUUID());
      expect(qb.called('andWhere')).toEqual([]);
    });

    it('nothing deleted (someone else’s or missing) is 404', async () => {
      answer = async () => ({ affected: 0 });
      await expect(service.remove(USER, randomUUID())).rejects.toBeInstanceOf(NotFoundException);
    });
  });
});
