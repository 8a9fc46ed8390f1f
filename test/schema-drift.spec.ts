import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';

/**
 * The entities must describe exactly what the migrations build: otherwise
 * `npm run migration:generate` after an entity change would also emit
 * statements that drop or rename our indexes, CHECKs and foreign keys.
 */
describe('Schema drift', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('the entity metadata matches the migrated schema (migration:generate would be empty)', async () => {
    // What `typeorm migration:generate` runs.
    const log = await t.dataSource.driver.createSchemaBuilder().log();
    expect(log.upQueries.map((q) => q.query)).toEqual([]);
  });

  // TypeORM's diff cannot see expression indexes (lower(...)) and never creates
  // `synchronize: false` ones, so a missing or misspelt declaration would pass
  // the test above: compare the names both ways. Only CHECK, FOREIGN KEY and
  // UNIQUE constraints: newer PostgreSQL (PGlite) also lists NOT NULL ones.
  it('every index and constraint (but primary keys) is declared by name in an entity, and exists', async () => {
    const declared = t.dataSource.entityMetadatas.flatMap((m) =>
      [...m.indices, ...m.uniques, ...m.checks, ...m.foreignKeys].map((o) => `${m.tableName}.${o.name}`),
    );
    const tables = t.dataSource.entityMetadatas.map((m) => m.tableName);
    const rows: Array<{ name: string }> = await t.dataSource.query(
      `SELECT c.relname || '.' || i.relname AS name
         FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_class c ON c.oid = x.indrelid
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY ($1)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u'))
       UNION ALL
       SELECT c.relname || '.' || k.conname
         FROM pg_constraint k
         JOIN pg_class c ON c.oid = k.conrelid
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY ($1) AND k.contype IN ('c', 'f', 'u')`,
      [tables],
    );
    expect([...declared].sort()).toEqual(rows.map((r) => r.name).sort());
  });
});
