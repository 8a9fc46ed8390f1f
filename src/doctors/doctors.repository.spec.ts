import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { openTestDataSource } from '../../test/utils/data-source.js';
import { buildDoctor, insertDoctor, insertUser } from '../../test/utils/factories.js';
import { CursorCodec } from '../common/pagination/cursor-codec.js';
import { pageRequest, parseOrdering } from '../common/pagination/keyset-query.js';
import { PreparedSql } from '../database/prepared-sql.js';
import { Doctor } from './doctor.entity.js';
import { DOCTOR_DEFAULT_ORDERING } from './dto/list-doctors.dto.js';
import { DoctorsRepository } from './doctors.repository.js';

/** On a real database (PGlite in memory; PostgreSQL with TEST_DATABASE_URL): rows in, entities out. */
describe(DoctorsRepository.name, () => {
  let t: Awaited<ReturnType<typeof openTestDataSource>>;
  let dataSource: DataSource;
  let repo: DoctorsRepository;
  let creator: { id: string };
  const codec = new CursorCodec(randomBytes(32));
  const caller = { id: randomUUID(), role: 'user' };
  const page = (ordering: string, pageSize = 100) =>
    pageRequest({ page_size: pageSize }, parseOrdering(ordering, repo.sortFields, DOCTOR_DEFAULT_ORDERING), codec, 'doctors', caller);
  const names = (doctors: Doctor[]) => doctors.map((d) => d.name);

  beforeAll(async () => {
    t = await openTestDataSource();
    dataSource = t.dataSource;
    repo = new DoctorsRepository(dataSource, new PreparedSql(dataSource));
    creator = await insertUser(dataSource);
    for (const [name, specialization] of [
      ['Dr. Ann Smith', 'Cardiology'],
      ['Dr. Joe Roe', 'Neurology'],
      ['Dr. 100% Sure', 'Dermatology'],
      ['Dr. Card Less', 'Oncology'],
    ] as const) {
      await insertDoctor(dataSource, { name, specialization, createdById: creator.id });
    }
  }, 60_000);
  afterAll(() => t?.close());

  it('derives sort fields (column, kind) from the entity metadata', () => {
    expect(repo.sortFields).toEqual({
      name: { column: 'name', property: 'name', kind: 'string' },
      specialization: { column: 'specialization', property: 'specialization', kind: 'string' },
      created_at: { column: 'created_at', property: 'createdAt', kind: 'date' },
    });
  });

  it('finds a doctor by id as a full entity, at version 1', async () => {
    const { id } = await insertDoctor(dataSource, { name: 'Dr. Found' });
    const doctor = await repo.findById(id);
    expect(doctor).toBeInstanceOf(Doctor);
    expect(doctor).toMatchObject({ id, name: 'Dr. Found', specialization: 'Cardiology', phone: '5551234567', createdById: null, version: 1 });
    expect(doctor!.createdAt).toBeInstanceOf(Date);
    expect(await repo.findById(randomUUID())).toBeNull();
    await dataSource.query(`DELETE FROM doctors WHERE id = $1`, [id]);
  });

  it('lists in the ordering asked for', async () => {
    expect(names(await repo.listPage({}, page('name')))).toEqual(['Dr. 100% Sure', 'Dr. Ann Smith', 'Dr. Card Less', 'Dr. Joe Roe']);
    expect((await repo.listPage({}, page('-specialization'))).map((d) => d.specialization)).toEqual([
      'Oncology',
      'Neurology',
      'Dermatology',
      'Cardiology',
    ]);
  });

  it('searches name or specialization (substring from 3 letters or digits, prefix below, wildcards literal)', async () => {
    expect(names(await repo.listPage({ search: 'card' }, page('name')))).toEqual(['Dr. Ann Smith', 'Dr. Card Less']);
    expect(names(await repo.listPage({ search: '100%' }, page('name')))).toEqual(['Dr. 100% Sure']);
    expect(names(await repo.listPage({ search: '%' }, page('name')))).toEqual([]);
    // "Ne" is a prefix: Neurology starts with it; "Joe Roe" holds "ne" nowhere at a start.
    expect(names(await repo.listPage({ search: 'Ne' }, page('name')))).toEqual(['Dr. Joe Roe']);
    expect(names(await repo.listPage({ search: 'mi' }, page('name')))).toEqual([]);
  });

  it('filters by specialization, exactly and whatever its case', async () => {
    expect(names(await repo.listPage({ specialization: 'NEUROLOGY' }, page('name')))).toEqual(['Dr. Joe Roe']);
    expect(await repo.listPage({ specialization: 'Neuro' }, page('name'))).toEqual([]);
  });

  it('answers pageSize + 1 rows, so the caller knows there is more', async () => {
    expect(await repo.listPage({}, page('name', 2))).toHaveLength(3);
  });

  it('inserts, updates (of its creator only, when asked) and deletes inside the caller’s transaction', async () => {
    const input = buildDoctor();
    const created = await dataSource.transaction((m) => repo.insert({ ...input, createdById: creator.id }, m));
    expect(created).toMatchObject({ ...input, createdById: creator.id });
    expect(await dataSource.transaction((m) => repo.update(created.id, { phone: '5550000000' }, randomUUID(), m))).toBeNull();
    const updated = await dataSource.transaction((m) => repo.update(created.id, { phone: '5550000000' }, creator.id, m));
    expect(updated).toMatchObject({ phone: '5550000000', name: input.name });
    expect(updated!.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());
    expect(await dataSource.transaction((m) => repo.update(created.id, { name: 'Dr. Renamed' }, undefined, m))).toMatchObject({
      name: 'Dr. Renamed',
    });
    expect(await dataSource.transaction((m) => repo.softDelete(created.id, creator.id, randomUUID(), m))).toBeNull();
    expect(await dataSource.transaction((m) => repo.softDelete(created.id, creator.id, creator.id, m))).toMatchObject({ deletedById: creator.id });
    expect(await dataSource.transaction((m) => repo.lockLive(created.id, m))).toBe(false);
    expect(await dataSource.transaction((m) => repo.restore(created.id, m))).toMatchObject({ deletedAt: null });
    expect(await dataSource.transaction((m) => repo.lockLive(created.id, m))).toBe(true);
    expect(await dataSource.transaction((m) => repo.softDelete(created.id, creator.id, undefined, m))).not.toBeNull();
    expect(await repo.findById(created.id)).toBeNull();
  });

  it('a write that fails rolls back with the caller’s transaction', async () => {
    const input = buildDoctor();
    const failed = await dataSource
      .transaction(async (m) => {
        await repo.insert({ ...input, createdById: null }, m);
        throw new Error('the caller fails after the insert');
      })
      .catch((error: Error) => error.message);
    expect(failed).toBe('the caller fails after the insert');
    expect(await dataSource.query(`SELECT 1 FROM doctors WHERE email = $1`, [input.email])).toEqual([]);
  });
});
