import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations/index.js';
import { validate } from '../../src/config/app-config.js';
import { buildDataSourceOptions } from '../../src/database/data-source-options.js';

/**
 * Where a test file's database lives. With TEST_DATABASE_URL (an admin
 * connection to a PostgreSQL server) each file gets its own database cloned
 * from a migrated template; without it, its own in-memory PGlite.
 */
export interface TestDatabase {
  env: Record<string, string | undefined>;
  kind: 'postgres' | 'pglite';
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) {
    return {
      kind: 'pglite',
      env: { DATABASE_URL: undefined, DB_NAME: undefined, PGLITE_DATA_DIR: 'memory://' },
      drop: async () => undefined,
    };
  }
  const template = await ensureTemplate(admin);
  const name = `hc_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  await withClient(admin, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  return {
    kind: 'postgres',
    env: { DATABASE_URL: databaseUrl(admin, name), DB_NAME: undefined },
    drop: () => withClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** The template's name changes whenever a migration does, so a stale one is never cloned. */
function templateName(): string {
  const hash = createHash('sha256');
  for (const m of migrations) hash.update(m.name).update(m.prototype.up.toString()).update(m.prototype.down.toString());
  return `hc_template_${hash.digest('hex').slice(0, 12)}`;
}

async function ensureTemplate(admin: string): Promise<string> {
  const name = templateName();
  await withClient(admin, async (c) => {
    // Test files start in parallel: one builds the template, the others wait.
    await c.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
    try {
      const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rowCount) return;
      const building = `${name}_build`;
      await c.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${building}`);
      const ds = new DataSource(buildDataSourceOptions(validate({ DATABASE_URL: databaseUrl(admin, building), DB_POOL_SIZE: '2' }).database));
      await ds.initialize();
      await ds.runMigrations({ transaction: 'each' });
      await ds.destroy();
      await c.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
    } finally {
      await c.query('SELECT pg_advisory_unlock(hashtext($1))', [name]);
    }
  });
  return name;
}

function databaseUrl(admin: string, database: string): string {
  const url = new URL(admin);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
