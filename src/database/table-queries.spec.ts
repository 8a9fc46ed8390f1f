import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { DataSource, SelectQueryBuilder } from 'typeorm';
import { openTestDataSource } from '../../test/utils/data-source.js';
import { insertPatient, insertUser } from '../../test/utils/factories.js';
import { CursorCodec } from '../common/pagination/cursor-codec.js';
import { pageRequest, parseOrdering } from '../common/pagination/keyset-query.js';
import { Patient } from '../patients/patient.entity.js';
import { PreparedSql } from './prepared-sql.js';
import { type ListQuery, TableQueries } from './table-queries.js';

interface Filter {
  ownerId?: string;
  minAge?: number;
  name?: string;
}

/** On a real database (PGlite in memory; PostgreSQL with TEST_DATABASE_URL). */
describe(TableQueries.name, () => {
  let t: Awaited<ReturnType<typeof openTestDataSource>>;
  let dataSource: DataSource;
  let table: TableQueries<Patient>;
  let sql: PreparedSql;
  const owners: string[] = [];
  const codec = new CursorCodec(randomBytes(32));
  const caller = { id: randomUUID(), role: 'user' };
  const select = jest.fn((qb: SelectQueryBuilder<Patient>) => qb.select(table.rows.selectList('p')));
  const list: ListQuery<Patient, Filter> = {
    name: 'spec-patients',
    alias: 'p',
    select,
    conditions: { ownerId: 'p.owner_id = :ownerId', minAge: 'p.age >= :minAge', name: { where: 'p.name = :name', value: (v) => v.trim() } },
  };
  const page = (ordering: string, pageSize = 100, cursor?: string) =>
    pageRequest({ page_size: pageSize, cursor }, parseOrdering(ordering, table.rows.sortFields({ name: 'name', age: 'age' }), 'name'), codec, 'spec', caller);
  const names = (rows: Array<Record<string, unknown>>) => rows.map((r) => r.name);

  beforeAll(async () => {
    t = await openTestDataSource();
    dataSource = t.dataSource;
    sql = new PreparedSql(dataSource);
    table = new TableQueries(dataSource, sql, Patient);
    for (const group of [['A1', 'A2', 'A3'], ['B1', 'B2']]) {
      const owner = (await insertUser(dataSource)).id;
      owners.push(owner);
      for (const [i, name] of group.entries()) await insertPatient(dataSource, owner, { name, age: 20 + i * 10 });
    }
  }, 60_000);
  afterAll(() => t?.close());

  it('builds a list shape’s SQL once and reuses it with each request’s values', async () => {
    select.mockClear();
    expect(names(await table.listPageRows(list, { ownerId: owners[0] }, page('name'), false))).toEqual(['A1', 'A2', 'A3']);
    expect(names(await table.listPageRows(list, { ownerId: owners[1] }, page('name'), false))).toEqual(['B1', 'B2']);
    // The LIMIT is a value too: page size 1 asks for 2 rows.
    expect(names(await table.listPageRows(list, { ownerId: owners[0] }, page('name', 1), false))).toEqual(['A1', 'A2']);
    expect(select).toHaveBeenCalledTimes(1);
    // Another set of filters, ordering or direction is another shape.
    expect(names(await table.listPageRows(list, { ownerId: owners[0], minAge: 30 }, page('name'), false))).toEqual(['A2', 'A3']);
    expect(names(await table.listPageRows(list, { ownerId: owners[0] }, page('-age'), false))).toEqual(['A3', 'A2', 'A1']);
    expect(select).toHaveBeenCalledTimes(3);
    expect(names(await table.listPageRows(list, { ownerId: owners[1], minAge: 0 }, page('name'), false))).toEqual(['B1', 'B2']);
    expect(select).toHaveBeenCalledTimes(3);
  });

  it('applies a condition’s value mapping, and a search shape runs as the search it is', async () => {
    const search = jest.spyOn(sql, 'search');
    expect(names(await table.listPageRows(list, { name: '  B2 ' }, page('name'), true))).toEqual(['B2']);
    expect(search).toHaveBeenCalledTimes(1);
    search.mockRestore();
  });

  it('a page after a cursor continues where the first stopped, with each request’s boundary', async () => {
    const scope = JSON.stringify(['spec', 'name', caller.id, caller.role]);
    const after = async (ownerId: string) => {
      const [first] = (await table.listPageRows(list, { ownerId }, page('name', 1), false)) as Array<{ name: string; id: string }>;
      const cursor = codec.encode({ v: first.name, i: first.id, r: false }, scope);
      return names(await table.listPageRows(list, { ownerId }, page('name', 5, cursor), false));
    };
    expect(await after(owners[0])).toEqual(['A2', 'A3']);
    expect(await after(owners[1])).toEqual(['B2']);
  });

  it('refuses a list whose select brings a parameter that is not one of its filters', async () => {
    const bad: ListQuery<Patient, Filter> = { ...list, name: 'spec-bad', select: (qb) => select(qb).andWhere('p.age < :secret', { secret: 99 }) };
    await expect(table.listPageRows(bad, {}, page('name'), false)).rejects.toThrow(/not one of its filters/);
  });
});
