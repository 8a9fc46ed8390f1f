import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { openTestDataSource } from '../../test/utils/data-source.js';
import { insertDoctor, insertMapping, insertPatient, insertUser } from '../../test/utils/factories.js';
import { CursorCodec } from '../common/pagination/cursor-codec.js';
import { sqlState } from '../common/db-errors.js';
import { pageRequest, parseOrdering } from '../common/pagination/keyset-query.js';
import { PreparedSql } from '../database/prepared-sql.js';
import { Mapping } from './mapping.entity.js';
import { MappingsRepository } from './mappings.repository.js';

/** On a real database (PGlite in memory; PostgreSQL with TEST_DATABASE_URL): rows in, entities out. */
describe(MappingsRepository.name, () => {
  let t: Awaited<ReturnType<typeof openTestDataSource>>;
  let dataSource: DataSource;
  let repo: MappingsRepository;
  let owner: { id: string };
  let patient: { id: string; name: string; ownerId: string };
  let otherPatient: { id: string; name: string; ownerId: string };
  let doctors: Array<{ id: string; name: string }>;
  const codec = new CursorCodec(randomBytes(32));
  const caller = { id: randomUUID(), role: 'user' };
  const page = (ordering = '-created_at', pageSize = 100) =>
    pageRequest({ page_size: pageSize }, parseOrdering(ordering, repo.sortFields, '-created_at'), codec, 'mappings', caller);
  const doctorIds = (mappings: Mapping[]) => mappings.map((m) => m.doctorId);

  beforeAll(async () => {
    t = await openTestDataSource();
    dataSource = t.dataSource;
    repo = new MappingsRepository(dataSource, new PreparedSql(dataSource));
    owner = await insertUser(dataSource);
    patient = { ...(await insertPatient(dataSource, owner.id, { name: 'Ann Smith' })), ownerId: owner.id };
    const other = await insertUser(dataSource);
    otherPatient = { ...(await insertPatient(dataSource, other.id, { name: 'Someone Else' })), ownerId: other.id };
    doctors = [];
    // Distinct creation times a second apart, so "created order" is one order on every database.
    const base = Date.now() - 60_000;
    for (const [i, name] of ['Dr. One', 'Dr. Two', 'Dr. Three'].entries()) {
      const doctor = await insertDoctor(dataSource, { name });
      doctors.push(doctor);
      await insertMapping(dataSource, patient, doctor.id, new Date(base + i * 1000));
    }
    await insertMapping(dataSource, otherPatient, doctors[0].id);
  }, 60_000);
  afterAll(() => t?.close());

  it('derives its sort field from the entity metadata', () => {
    expect(repo.sortFields).toEqual({ created_at: { column: 'created_at', property: 'createdAt', kind: 'date' } });
  });

  it('lists by owner, patient or doctor, in created order either way', async () => {
    const mine = await repo.listPage({ ownerId: owner.id }, page('created_at'));
    expect(mine[0]).toBeInstanceOf(Mapping);
    expect(doctorIds(mine)).toEqual(doctors.map((d) => d.id));
    expect(doctorIds(await repo.listPage({ ownerId: owner.id }, page('-created_at')))).toEqual(doctors.map((d) => d.id).reverse());
    expect((await repo.listPage({ patientId: otherPatient.id }, page())).map((m) => m.ownerId)).toEqual([otherPatient.ownerId]);
    expect((await repo.listPage({ doctorId: doctors[0].id }, page())).map((m) => m.patientId).sort()).toEqual(
      [patient.id, otherPatient.id].sort(),
    );
    expect(await repo.listPage({ ownerId: owner.id, doctorId: randomUUID() }, page())).toEqual([]);
  });

  it('lists with each patient’s and doctor’s name (staff console), or with the whole doctor (a patient’s doctors)', async () => {
    const named = await repo.listPageWithNames({ ownerId: owner.id }, page('created_at'));
    expect(named[0].patient).toEqual(expect.objectContaining({ id: patient.id, name: 'Ann Smith' }));
    expect(named.map((m) => m.doctor?.name)).toEqual(['Dr. One', 'Dr. Two', 'Dr. Three']);
    expect(named[0].doctor?.email).toBeUndefined();

    const withDoctors = await repo.listPageWithDoctors({ patientId: patient.id }, page('created_at'));
    expect(withDoctors[0].patient).toBeUndefined();
    expect(withDoctors[0].doctor).toMatchObject({ id: doctors[0].id, name: 'Dr. One', specialization: 'Cardiology' });
    expect(withDoctors[0].doctor?.createdAt).toBeInstanceOf(Date);
  });

  it('answers pageSize + 1 rows, so the caller knows there is more', async () => {
    expect(await repo.listPage({ ownerId: owner.id }, page('created_at', 2))).toHaveLength(3);
  });

  it('inserts and deletes (of the owner only, when asked) inside the caller’s transaction', async () => {
    const doctor = await insertDoctor(dataSource);
    const created = await dataSource.transaction((m) => repo.insert({ patientId: patient.id, ownerId: owner.id, doctorId: doctor.id }, m));
    expect(created).toMatchObject({ patientId: patient.id, ownerId: owner.id, doctorId: doctor.id });
    expect(created.createdAt).toBeInstanceOf(Date);
    expect(await dataSource.transaction((m) => repo.delete(created.id, randomUUID(), m))).toBeNull();
    expect(await dataSource.transaction((m) => repo.delete(created.id, owner.id, m))).toMatchObject({ id: created.id, doctorId: doctor.id });
    expect(await dataSource.transaction((m) => repo.delete(created.id, undefined, m))).toBeNull();
  });

  it('the database refuses a second mapping of the same pair (23505) and a mapping whose owner is not the patient’s', async () => {
    const duplicate = await dataSource
      .transaction((m) => repo.insert({ patientId: patient.id, ownerId: owner.id, doctorId: doctors[0].id }, m))
      .catch((error: unknown) => sqlState(error));
    expect(duplicate).toBe('23505');
    const wrongOwner = await dataSource
      .transaction((m) => repo.insert({ patientId: otherPatient.id, ownerId: owner.id, doctorId: doctors[1].id }, m))
      .catch((error: unknown) => sqlState(error));
    expect(wrongOwner).toBe('23503');
  });
});
