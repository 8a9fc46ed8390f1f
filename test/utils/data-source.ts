import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../src/database/data-source-options.js';
import { validate } from '../../src/config/app-config.js';
import { createTestDatabase, type TestDatabase } from './database.js';

/** A migrated database of this test file's own (in-memory PGlite, or PostgreSQL with TEST_DATABASE_URL), for repository specs. */
export async function openTestDataSource(): Promise<{ dataSource: DataSource; db: TestDatabase; close(): Promise<void> }> {
  const db = await createTestDatabase();
  const dataSource = new DataSource(
    buildDataSourceOptions(
      validate({ DATABASE_URL: db.env.DATABASE_URL, DB_POOL_SIZE: '4', PGLITE_DATA_DIR: db.env.PGLITE_DATA_DIR ?? 'memory://' }).database,
      'tool',
    ),
  );
  await dataSource.initialize();
  // PostgreSQL's copy comes from a migrated template; PGlite starts empty.
  if (db.kind === 'pglite') await dataSource.runMigrations({ transaction: 'each' });
  return {
    dataSource,
    db,
    close: async () => {
      await dataSource.destroy();
      await db.drop();
    },
  };
}
