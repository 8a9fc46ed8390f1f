import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { openTestDataSource } from '../../test/utils/data-source.js';
import { insertPatient, insertUser } from '../../test/utils/factories.js';
import { CursorCodec } from '../common/pagination/cursor-codec.js';
import { pageRequest, parseOrdering } from '../common/pagination/keyset-query.js';
import { sqlState } from '../common/db-errors.js';
import { PreparedSql } from '../database/prepared-sql.js';
import { PatientsRepository } from './patients.repository.js';

/** On a real database (PGlite in memory; PostgreSQL with TEST_DATABASE_URL): rows in, entities out. */
describe(PatientsRepository.name, () => {
  let t: Awaited<ReturnType<typeof openTestDataSource>>;
  let dataSource: DataSource;
  let repo: PatientsRepository;
  let owner: { id: string; username: string };
  const codec = new CursorCodec(randomBytes(32));
  const caller = { id: randomUUID(), role: 'user' };
  const page = (ordering: string, pageSize = 100) =>
    pageRequest({ page_size: pageSize }, parseOrdering(ordering, repo.sortFields, '-created_at'), codec, 'patients', caller);
  const deletedPage = () => pageRequest({ page_size: 100 }, parseOrdering(undefined, repo.deletedSortFields, '-deleted_at'), codec, 'deleted', caller);

  beforeAll(async () => {
    t = await openTestDataSource();
    dataSource = t.dataSource;
    repo = new PatientsRepository(dataSource, new PreparedSql(dataSource));
    owner = await insertUser(dataSource);
    for (const [name, age] of [['Ann Smith', 30], ['Joanne Roe', 50], ['100% Pure', 20], ['snake_case', 60], ['snakeXcase', 61]] as const) {
      await insertPatient(dataSource, owner.id, { name, age });
    }
    await insertPatient(dataSource, (await insertUser(dataSource)).id, { name: 'Someone else’s' });
  }, 60_000);
  afterAll(() => t?.close());

  it('derives sort fields (column, kind) from the entity metadata', () => {
    expect(repo.sortFields).toEqual({
      name: { column: 'name', property: 'name', kind: 'string' },
      created_at: { column: 'created_at', property: 'createdAt', kind: 'date' },
      age: { column: 'age', property: 'age', kind: 'number' },
    });
  });

  it('finds a patient by id, and by id and owner, as a full entity', async () => {
    const [{ id }] = (await dataSource.query(`SELECT id FROM patients WHERE name = 'Ann Smith'`)) as Array<{ id: string }>;
    const patient = await repo.findById(id);
    expect(patient).toMatchObject({ id, ownerId: owner.id, name: 'Ann Smith', age: 30, gender: 'female', address: '1 Harbour Road' });
    expect(patient!.createdAt).toBeInstanceOf(Date);
    expect(await repo.findById(id, owner.id)).toMatchObject({ id });
    expect(await repo.findById(id, randomUUID())).toBeNull();
  });

  it('lists one owner’s rows in the ordering asked for, filters applied', async () => {
    const byAge = await repo.listPage({ ownerId: owner.id }, page('-age'));
    expect(byAge.map((p) => p.age)).toEqual([61, 60, 50, 30, 20]);
    expect((await repo.listPage({ ownerId: owner.id, minAge: 30, maxAge: 60 }, page('name'))).map((p) => p.name)).toEqual([
      'Ann Smith',
      'Joanne Roe',
      'snake_case',
    ]);
    // Wildcards match literally; fewer than 3 letters or digits in a row is a prefix.
    expect((await repo.listPage({ ownerId: owner.id, search: 'ake_c' }, page('name'))).map((p) => p.name)).toEqual(['snake_case']);
    expect((await repo.listPage({ ownerId: owner.id, search: 'jo' }, page('name'))).map((p) => p.name)).toEqual(['Joanne Roe']);
  });

  it('answers pageSize + 1 rows, so the caller knows there is more', async () => {
    expect(await repo.listPage({ ownerId: owner.id }, page('name', 2))).toHaveLength(3);
  });

  it('lists with each patient’s owner (id and username only)', async () => {
    const rows = await repo.listPageWithOwners({ ownerId: owner.id }, page('name'));
    expect(rows).toHaveLength(5);
    expect(rows[0].owner).toEqual(expect.objectContaining({ id: owner.id, username: owner.username }));
  });

  it('inserts, updates (of the owner only), marks deleted, restores and purges inside the caller’s transaction', async () => {
    const created = await dataSource.transaction((m) =>
      repo.insert({ ownerId: owner.id, name: 'New', age: 1, gender: 'male', address: '' }, m),
    );
    expect(created).toMatchObject({ ownerId: owner.id, name: 'New', age: 1 });
    expect(await dataSource.transaction((m) => repo.update(created.id, { age: 2 }, randomUUID(), m))).toBeNull();
    expect(await dataSource.transaction((m) => repo.update(created.id, { age: 2 }, owner.id, m))).toMatchObject({ age: 2, name: 'New' });
    expect(await dataSource.transaction((m) => repo.softDelete(created.id, owner.id, randomUUID(), m))).toBeNull();
    const deleted = await dataSource.transaction((m) => repo.softDelete(created.id, owner.id, undefined, m));
    expect(deleted).toMatchObject({ version: 3, deletedById: owner.id, deletedAt: expect.any(Date) });
    // Deleted: not found, not changed, not deleted again, not listed; listed among the deleted.
    expect(await repo.findById(created.id)).toBeNull();
    expect(await dataSource.transaction((m) => repo.update(created.id, { age: 3 }, undefined, m))).toBeNull();
    expect(await dataSource.transaction((m) => repo.softDelete(created.id, owner.id, undefined, m))).toBeNull();
    expect((await repo.listPage({ ownerId: owner.id }, page('name'))).map((p) => p.id)).not.toContain(created.id);
    expect((await repo.listDeletedPage({ ownerId: owner.id }, deletedPage())).map((p) => p.id)).toContain(created.id);
    // A user restores only their own, deleted by themselves, since the date given.
    const byOwner = (since: Date) => ({ ownerId: owner.id, since });
    expect(await dataSource.transaction((m) => repo.restore(created.id, { ownerId: randomUUID(), since: new Date(0) }, m))).toBeNull();
    expect(await dataSource.transaction((m) => repo.restore(created.id, byOwner(new Date(Date.now() + 60_000)), m))).toBeNull();
    expect(await dataSource.transaction((m) => repo.restore(created.id, byOwner(new Date(0)), m))).toMatchObject({ version: 4, deletedAt: null, deletedById: null });
    expect(await dataSource.transaction((m) => repo.restore(created.id, undefined, m))).toBeNull();
    expect(await repo.findById(created.id)).toMatchObject({ id: created.id, version: 4 });
    // The purge takes only rows deleted before its date.
    await dataSource.transaction((m) => repo.softDelete(created.id, owner.id, undefined, m));
    expect(await dataSource.transaction((m) => repo.purgeDeleted(new Date(Date.now() - 60_000), 10, m))).not.toContain(created.id);
    expect(await dataSource.transaction((m) => repo.purgeDeleted(new Date(Date.now() + 60_000), 10, m))).toContain(created.id);
    expect(await dataSource.transaction((m) => repo.restore(created.id, undefined, m))).toBeNull();
  });

  it('a search’s statement timeout (1 s) cancels a statement that runs past it, and its connection serves the next (PostgreSQL; PGlite has none)', async () => {
    const sql = new PreparedSql(dataSource);
    try {
      const result = await sql.search('SELECT pg_sleep(1.3)', []).then(
        () => 'finished',
        (error: unknown) => sqlState(error),
      );
      expect(result).toBe(t.db.kind === 'postgres' ? '57014' : 'finished');
      if (t.db.kind === 'postgres') {
        expect(await sql.search('SHOW statement_timeout', [])).toEqual([{ statement_timeout: '1s' }]);
        // The other statements keep the general bound.
        expect(await sql.query('SHOW statement_timeout', [])).not.toEqual([{ statement_timeout: '1s' }]);
      }
    } finally {
      await sql.onApplicationShutdown();
    }
  });
});
