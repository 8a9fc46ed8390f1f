import { DataSource, type DataSourceOptions } from 'typeorm';
import { type DatabaseConfig, databaseKind } from '../config/app-config.js';
import { buildDataSourceOptions } from './data-source-options.js';
import { runMigrations } from './migrate.js';

export const DB_ROLES_USAGE = `  db-roles
      PostgreSQL: creates (or updates) the owner role DB_OWNER_ROLE and the app role DB_APP_ROLE with the
      passwords in DB_OWNER_PASSWORD / DB_APP_PASSWORD, gives the schema to the owner, applies pending
      migrations as the owner, and grants the app role only what it needs. Run it as a superuser
      (DATABASE_URL naming one); idempotent.
`;

/** The audit tables: the app role may only add to them and read them; their functions do the rest. */
const AUDIT_TABLES = ['audit_events', 'audit_chain', 'audit_pending', 'audit_chain_head'];
/** Read by audit-verify (the last number given out), never advanced by the app itself (the stamp trigger does). */
const APP_READ_SEQUENCES = ['audit_events_seq_seq'];
/** Functions the app role calls itself (SECURITY DEFINER, owned by the owner role). */
const APP_FUNCTIONS = ['audit_prune(integer)'];

interface Sql {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

const ident = (name: string) => {
  // The names come from validated config (lower-case identifiers); quoting is belt and braces.
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`Not a role name: ${name}`);
  return `"${name}"`;
};

/**
 * The app role's privileges, applied by the owner (or a superuser) after
 * every migration: full DML on the API's tables; on the audit tables INSERT
 * and SELECT only (audit_events, audit_chain), SELECT on the queue and the
 * head (which only SECURITY DEFINER triggers change); EXECUTE on the prune;
 * SELECT on the migrations table. No DDL, no TRUNCATE, no UPDATE or DELETE of
 * the trail. Idempotent.
 */
export async function applyAppGrants(db: Sql, appRole: string): Promise<void> {
  const app = ident(appRole);
  const tables = (await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)) as Array<{
    tablename: string;
  }>;
  await db.query(`GRANT USAGE ON SCHEMA public TO ${app}`);
  for (const { tablename } of tables) {
    const table = `public."${tablename.replaceAll('"', '""')}"`;
    await db.query(`REVOKE ALL ON ${table} FROM PUBLIC, ${app}`);
    if (tablename === 'typeorm_migrations') await db.query(`GRANT SELECT ON ${table} TO ${app}`);
    else if (tablename === 'audit_events' || tablename === 'audit_chain') await db.query(`GRANT SELECT, INSERT ON ${table} TO ${app}`);
    else if (AUDIT_TABLES.includes(tablename)) await db.query(`GRANT SELECT ON ${table} TO ${app}`);
    else await db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO ${app}`);
  }
  await db.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, ${app}`);
  for (const sequence of APP_READ_SEQUENCES) {
    const [{ exists }] = (await db.query(`SELECT to_regclass($1) IS NOT NULL AS exists`, [`public.${sequence}`])) as Array<{ exists: boolean }>;
    if (exists) await db.query(`GRANT SELECT ON SEQUENCE public.${sequence} TO ${app}`);
  }
  for (const fn of APP_FUNCTIONS) {
    const [{ exists }] = (await db.query(`SELECT to_regprocedure($1) IS NOT NULL AS exists`, [`public.${fn}`])) as Array<{ exists: boolean }>;
    if (exists) await db.query(`GRANT EXECUTE ON FUNCTION public.${fn} TO ${app}`);
  }
}

async function ensureRole(db: Sql, name: string, password: string | undefined, variable: string): Promise<string> {
  const [{ exists }] = (await db.query(`SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists`, [name])) as Array<{
    exists: boolean;
  }>;
  if (!exists && !password) throw new Error(`${variable} must be set to create the role ${name}`);
  const attributes = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';
  await db.query(`${exists ? 'ALTER' : 'CREATE'} ROLE ${ident(name)} ${attributes}`);
  if (password) {
    // The password goes as a bound value into format(): never into a statement this process logs.
    const [{ statement }] = (await db.query(`SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text) AS statement`, [
      name,
      password,
    ])) as Array<{ statement: string }>;
    await db.query(statement);
  }
  return `${exists ? 'updated' : 'created'}${password ? ' (password set)' : ''}`;
}

/** Gives every table, sequence, view and function of the schema (but extensions') to the owner role. */
async function transferOwnership(db: Sql, owner: string): Promise<number> {
  const [{ n }] = (await db.query(
    `WITH moved AS (
       SELECT format('ALTER %s public.%I OWNER TO %I', CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END,
                     c.relname, $1::text) AS statement
         FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S')
          AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
          AND pg_get_userbyid(c.relowner) <> $1
       UNION ALL
       SELECT format('ALTER FUNCTION %s OWNER TO %I', p.oid::regprocedure, $1::text)
         FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
          AND pg_get_userbyid(p.proowner) <> $1)
     SELECT coalesce(json_agg(statement), '[]') AS n FROM moved`,
    [owner],
  )) as Array<{ n: string[] }>;
  for (const statement of n) await db.query(statement);
  return n.length;
}

/**
 * `npm run cli -- db-roles`: separate roles on PostgreSQL (issue 11, item 3).
 * Prints what it did; never a password. Returns the exit code.
 */
export async function dbRolesCommand(
  database: DatabaseConfig,
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<number> {
  if (databaseKind(database) !== 'postgres') {
    out('db-roles is for PostgreSQL (DATABASE_URL or DB_NAME); the embedded PGlite runs as one role.');
    return 2;
  }
  await createDatabaseRoles(database, out);
  return 0;
}

/** Creates or updates both roles, gives the schema to the owner, migrates as the owner, grants the app role its part. */
export async function createDatabaseRoles(database: DatabaseConfig, out: (line: string) => void): Promise<void> {
  const owner = database.ownerRole;
  const app = database.appRole;
  if (owner === app) throw new Error('DB_OWNER_ROLE and DB_APP_ROLE must differ');
  const admin = await new DataSource(buildDataSourceOptions({ ...database, poolSize: 1 }, 'tool')).initialize();
  try {
    const [{ superuser }] = (await admin.query(`SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`)) as Array<{
      superuser: boolean;
    }>;
    if (!superuser) throw new Error('db-roles must connect as a superuser (DATABASE_URL naming one)');
    out(`Owner role ${owner}: ${await ensureRole(admin, owner, database.ownerPassword, 'DB_OWNER_PASSWORD')}.`);
    out(`App role ${app}: ${await ensureRole(admin, app, database.appPassword, 'DB_APP_PASSWORD')}.`);
    // The app role must not inherit the owner's rights.
    await admin.query(`REVOKE ${ident(owner)} FROM ${ident(app)}`);
    const [{ db }] = (await admin.query(`SELECT current_database() AS db`)) as Array<{ db: string }>;
    const name = `"${db.replaceAll('"', '""')}"`;
    await admin.query(`GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${name} TO ${ident(owner)}`);
    await admin.query(`GRANT CONNECT ON DATABASE ${name} TO ${ident(app)}`);
    await admin.query(`ALTER SCHEMA public OWNER TO ${ident(owner)}`);
    await admin.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    out(`Schema public and ${await transferOwnership(admin, owner)} object(s) of it given to ${owner}.`);
  } finally {
    await admin.destroy();
  }
  // Migrations as the owner (so what they create is the owner's), then the app role's grants.
  const asOwner = await new DataSource(ownerOptions(buildDataSourceOptions({ ...database, poolSize: 1 }, 'tool'), owner)).initialize();
  try {
    const applied = await runMigrations(asOwner, true);
    out(applied.length ? `Migrations applied as ${owner}: ${applied.join(', ')}.` : 'No pending migrations.');
    await asOwner.transaction((m) => applyAppGrants(m, app));
    out(`Grants for ${app}: data tables read/write; audit tables INSERT and SELECT only; audit_prune(); no DDL.`);
  } finally {
    await asOwner.destroy();
  }
  out(`Now run the app with DATABASE_URL as ${app} and DATABASE_MIGRATION_URL as ${owner} (see README, Production).`);
}

/** The same connection, acting as `role` for the whole session (a superuser may SET ROLE to any role). */
function ownerOptions(options: DataSourceOptions, role: string): DataSourceOptions {
  const extra = ((options as { extra?: Record<string, unknown> }).extra ?? {}) as { options?: string };
  return { ...options, extra: { ...extra, max: 1, options: `${extra.options ?? ''} -c role=${role}`.trim() } } as DataSourceOptions;
}

/**
 * Startup migrations with separate roles: applied through DATABASE_MIGRATION_URL (the owner),
 * followed by the app role's grants, so a migration's new table is usable and no wider than it should be.
 */
export async function migrateAsOwner(database: DatabaseConfig): Promise<string[]> {
  const url = database.migrationUrl;
  if (!url) throw new Error('DATABASE_MIGRATION_URL is not set');
  const owner = await new DataSource(buildDataSourceOptions({ ...database, url, poolSize: 1 }, 'tool')).initialize();
  try {
    const applied = await runMigrations(owner, true);
    // In one transaction: instances already serving never see the app role without its grants.
    await owner.transaction((m) => applyAppGrants(m, database.appRole));
    return applied;
  } finally {
    await owner.destroy();
  }
}
