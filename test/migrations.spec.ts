import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource, QueryFailedError } from 'typeorm';
import { type ChainRow, GENESIS_HASH, rowHash } from '../src/audit/audit-chain.js';
import { validate } from '../src/config/app-config.js';
import { buildDataSourceOptions } from '../src/database/data-source-options.js';
import { runMigrations } from '../src/database/migrate.js';
import { canonicalUsername } from '../src/users/username.js';
import { migrations } from '../migrations/index.js';

const admin = process.env.TEST_DATABASE_URL;

/** A brand-new, empty database (not the migrated template): PGlite in memory, or a new PostgreSQL database. */
async function emptyDatabase(): Promise<{ options: () => ReturnType<typeof buildDataSourceOptions>; drop: () => Promise<void> }> {
  const base = { DB_POOL_SIZE: '4', PGLITE_DATA_DIR: 'memory://' };
  if (!admin) return { options: () => buildDataSourceOptions(validate(base).database), drop: async () => undefined };
  const name = `hc_test_mig_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    options: () => buildDataSourceOptions(validate({ ...base, DATABASE_URL: url.toString() }).database),
    drop: async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function columns(ds: DataSource, table: string): Promise<string[]> {
  const rows: Array<{ column_name: string }> = await ds.query(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`,
    [table],
  );
  return rows.map((r) => r.column_name);
}

async function tables(ds: DataSource): Promise<string[]> {
  const rows: Array<{ tablename: string }> = await ds.query(
    `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
  );
  return rows.map((r) => r.tablename);
}

function sqlStateOf(error: unknown): string | undefined {
  return error instanceof QueryFailedError ? (error.driverError as { code?: string }).code : undefined;
}

/** The migrations after AuditSealing, oldest first. */
const LATER = ['UsernameCanonical1796290000000', 'RefreshGrace1796290100000', 'AuditRefusalCounts1796290200000', 'Mfa1796290300000', 'AuditKeyedChain1796290400000', 'AuditAcknowledgedGaps1796290500000', 'AuditHeadPerStatement1796290600000', 'RecordVersions1796290700000', 'RecordHistory1796290800000', 'SoftDelete1796290900000', 'IdempotencyKeys1796291000000'];

/** Reverts the newest migrations until `name` is the newest applied. */
async function revertUntil(ds: DataSource, name: string): Promise<void> {
  for (;;) {
    const [last] = (await ds.query(`SELECT name FROM typeorm_migrations ORDER BY id DESC LIMIT 1`)) as Array<{ name: string }>;
    if (!last || last.name === name) return;
    await ds.undoLastMigration({ transaction: 'each' });
  }
}

/** Applies the pending migrations up to `name` only, each in its own transaction, recorded as TypeORM records them. */
async function migrateThrough(ds: DataSource, name: string): Promise<string[]> {
  const done = new Set(((await ds.query(`SELECT name FROM typeorm_migrations`)) as Array<{ name: string }>).map((r) => r.name));
  const applied: string[] = [];
  for (const Migration of migrations) {
    const migration = new Migration();
    if (done.has(migration.name)) continue;
    const runner = ds.createQueryRunner();
    try {
      await runner.startTransaction();
      await migration.up(runner);
      await runner.query(`INSERT INTO typeorm_migrations (timestamp, name) VALUES ($1, $2)`, [Number(migration.name.slice(-13)), migration.name]);
      await runner.commitTransaction();
    } finally {
      await runner.release();
    }
    applied.push(migration.name);
    if (migration.name === name) break;
  }
  return applied;
}

/** Reverting to an empty schema is refused once there are audit events: start over instead. */
async function resetAudit(ds: DataSource): Promise<void> {
  await ds.query(`DROP SCHEMA public CASCADE`);
  await ds.query(`CREATE SCHEMA public`);
  await runMigrations(ds, false);
}

describe('Migrations', () => {
  let db: Awaited<ReturnType<typeof emptyDatabase>>;
  let ds: DataSource;

  beforeAll(async () => {
    db = await emptyDatabase();
    ds = await new DataSource(db.options()).initialize();
  });
  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  it('apply, revert with down(), and apply again', async () => {
    const all = ['InitialSchema1764160000000', 'AuditTrail1764250000000', 'AuditSealing1764300000000', ...LATER];
    expect(await runMigrations(ds, !!admin)).toEqual(all);
    expect(await tables(ds)).toEqual(
      expect.arrayContaining(['users', 'sessions', 'patients', 'doctors', 'patient_doctor_mappings', 'audit_events', 'audit_chain']),
    );
    expect(await runMigrations(ds, !!admin)).toEqual([]);

    // Every down() works, newest first.
    const kindCheck = () =>
      ds.query(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'audit_chain_kind_check'`) as Promise<
        Array<{ def: string }>
      >;
    const triggers = async () =>
      ((await ds.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_chain'::regclass AND NOT tgisinternal ORDER BY tgname`)) as Array<{
        tgname: string;
      }>).map((r) => r.tgname);
    expect(await tables(ds)).toContain('idempotency_keys');
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await tables(ds)).not.toContain('idempotency_keys');
    expect(await columns(ds, 'patients')).toContain('deleted_at');
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await columns(ds, 'patients')).not.toContain('deleted_at');
    expect(await columns(ds, 'doctors')).not.toContain('deleted_by');
    expect(await tables(ds)).toEqual(expect.arrayContaining(['patient_history', 'doctor_history']));
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await tables(ds)).not.toContain('patient_history');
    expect(await tables(ds)).not.toContain('doctor_history');
    expect(await columns(ds, 'patients')).toContain('version');
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await columns(ds, 'patients')).not.toContain('version');
    expect(await columns(ds, 'doctors')).not.toContain('version');
    expect(await triggers()).toContain('audit_chain_advance');
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await triggers()).not.toContain('audit_chain_advance');
    expect(await triggers()).toContain('audit_chain_guard');
    expect((await kindCheck())[0].def).toContain('acknowledged');
    await ds.undoLastMigration({ transaction: 'each' });
    expect((await kindCheck())[0].def).not.toContain('acknowledged');
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await columns(ds, 'audit_events')).not.toContain('patient_ids');
    expect(await columns(ds, 'audit_chain')).not.toContain('kind');
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await tables(ds)).not.toContain('mfa_factors');
    expect(await tables(ds)).not.toContain('mfa_recovery_codes');
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await columns(ds, 'audit_events')).not.toContain('count');
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await columns(ds, 'sessions')).not.toContain('rotated_at');
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await columns(ds, 'users')).not.toContain('username_canonical');
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await tables(ds)).not.toContain('audit_chain');
    expect(await tables(ds)).toContain('audit_events');
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await tables(ds)).not.toContain('audit_events');
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await tables(ds)).toEqual(['typeorm_migrations']);
    const [functions] = await ds.query(`SELECT count(*)::int AS n FROM pg_proc WHERE proname LIKE 'audit%'`);
    expect(functions.n).toBe(0);

    expect(await runMigrations(ds, !!admin)).toEqual(all);
  });

  it('reverting the sealing migration is refused once a rolled-back write left a gap in the numbering', async () => {
    await revertUntil(ds, 'AuditSealing1764300000000');
    await ds.query(`INSERT INTO audit_events (action, status) VALUES ('read', 200)`);
    // A write that rolls back takes its number with it.
    await ds
      .transaction(async (m) => {
        await m.query(`INSERT INTO audit_events (action, status) VALUES ('create', 201)`);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await ds.query(`INSERT INTO audit_events (action, status) VALUES ('read', 200)`);
    await expect(ds.undoLastMigration({ transaction: 'each' })).rejects.toThrow(/AuditSealing cannot be reverted: 0 .* 1 are sealed at a position/);
    // Nothing was undone, not even the sealing the refused down() tried first: the events wait in the queue.
    expect(await tables(ds)).toContain('audit_chain');
    expect(await ds.query(`SELECT (SELECT count(*) FROM audit_chain)::int AS links, (SELECT count(*) FROM audit_pending)::int AS queued`)).toEqual([
      { links: 0, queued: 2 },
    ]);
    // Leave the database as the next test expects it: empty of audit events, all migrations applied.
    await resetAudit(ds);
  });

  it('the sealing migration keeps a chain built by the insert trigger, and the sealer extends it', async () => {
    await revertUntil(ds, 'AuditTrail1764250000000');
    for (const action of ['read', 'list', 'create']) {
      await ds.query(`INSERT INTO audit_events (action, status, reason, prev_hash, hash) VALUES ($1, 200, 'é 🩺', '', '')`, [action]);
    }
    // Up to the migration before the keyed chain (which replaces audit_seal), applied as TypeORM does.
    expect(await migrateThrough(ds, 'Mfa1796290300000')).toEqual(['AuditSealing1764300000000', ...LATER.slice(0, LATER.indexOf('Mfa1796290300000') + 1)]);
    for (const action of ['update', 'delete']) await ds.query(`INSERT INTO audit_events (action, status) VALUES ($1, 204)`, [action]);
    expect(await ds.query(`SELECT audit_seal(100) AS n`)).toEqual([{ n: 2 }]);

    const links = (await ds.query(
      `SELECT c.position AS chain_position, c.prev_hash, c.hash, e.* FROM audit_chain c JOIN audit_events e ON e.seq = c.event_seq
        ORDER BY c.position`,
    )) as ChainRow[];
    expect(links.map((l) => [l.chain_position, l.action])).toEqual([
      ['1', 'read'],
      ['2', 'list'],
      ['3', 'create'],
      ['4', 'update'],
      ['5', 'delete'],
    ]);
    let prev: Buffer = GENESIS_HASH;
    for (const link of links) {
      link.prev_hash = Buffer.from(link.prev_hash);
      link.hash = Buffer.from(link.hash);
      expect(link.prev_hash.equals(prev)).toBe(true);
      expect(rowHash(link).toString('hex')).toBe(link.hash.toString('hex'));
      prev = link.hash;
    }
    // The keyed chain keeps these unkeyed links below a boundary it records once, and counts event numbers from here on.
    expect(await runMigrations(ds, !!admin)).toEqual(['AuditKeyedChain1796290400000', 'AuditAcknowledgedGaps1796290500000', 'AuditHeadPerStatement1796290600000', 'RecordVersions1796290700000', 'RecordHistory1796290800000', 'SoftDelete1796290900000', 'IdempotencyKeys1796291000000']);
    expect(await ds.query(`SELECT seq, keyed_from, counted_from FROM audit_chain_head`)).toEqual([{ seq: '5', keyed_from: '6', counted_from: '6' }]);
  });

  it('UsernameCanonical: accounts that collide under the canonical form keep the oldest; the others are deactivated', async () => {
    await revertUntil(ds, 'AuditSealing1764300000000');
    // lower() tells these apart, the canonical form does not (ß folds to ss).
    const insert = async (username: string, joined: string) => {
      const [u] = await ds.query(
        `INSERT INTO users (username, email, password_hash, date_joined) VALUES ($1, $2, 'x', $3) RETURNING id`,
        [username, `${randomUUID()}@example.org`, joined],
      );
      return u.id as string;
    };
    const older = await insert('Straße_mig', '2026-01-01T00:00:00Z');
    const newer = await insert('STRASSE_MIG', '2026-02-01T00:00:00Z');
    const alone = await insert('Alone_mig', '2026-03-01T00:00:00Z');
    await ds.query(
      `INSERT INTO sessions (user_id, refresh_jti, refresh_expires_at, expires_at)
       VALUES ($1, gen_random_uuid(), now() + interval '1 hour', now() + interval '1 hour')`,
      [newer],
    );
    expect(await runMigrations(ds, !!admin)).toEqual(LATER);

    const rows: Array<{ id: string; username_canonical: string; is_active: boolean }> = await ds.query(
      `SELECT id, username_canonical, is_active FROM users WHERE id = ANY ($1) ORDER BY date_joined`,
      [[older, newer, alone]],
    );
    expect(rows).toEqual([
      { id: older, username_canonical: 'strasse_mig', is_active: true },
      { id: newer, username_canonical: `DUPLICATE:${newer}`, is_active: false },
      { id: alone, username_canonical: 'alone_mig', is_active: true },
    ]);
    const [live] = await ds.query(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1 AND revoked_at IS NULL`, [newer]);
    expect(live.n).toBe(0);
    // The marker is out of reach of any typed name: the canonical form never holds an ASCII capital.
    expect(canonicalUsername(`DUPLICATE:${newer}`)).not.toBe(`DUPLICATE:${newer}`);
    await ds.query(`DELETE FROM sessions WHERE user_id = ANY ($1)`, [[older, newer, alone]]);
    await ds.query(`DELETE FROM users WHERE id = ANY ($1)`, [[older, newer, alone]]);
  });

  describe('the database enforces the rules itself', () => {
    let userId: string;

    beforeAll(async () => {
      const [u] = await ds.query(
        `INSERT INTO users (username, username_canonical, email, password_hash) VALUES ('Ada', 'ada', 'Ada@Example.org', 'x') RETURNING id`,
      );
      userId = u.id;
    });

    it('username and email are unique regardless of case', async () => {
      for (const [username, email] of [
        ['ada', 'other@example.org'],
        ['other', 'ada@example.org'],
      ]) {
        const insert = ds.query(`INSERT INTO users (username, username_canonical, email, password_hash) VALUES ($1, $2, $3, 'x')`, [
          username,
          canonicalUsername(username),
          email,
        ]);
        await expect(insert.catch(sqlStateOf)).resolves.toBe('23505');
      }
    });

    it('age is checked; a doctor email is unique regardless of case; a pair is unique and has its patient’s owner', async () => {
      const badAge = ds.query(`INSERT INTO patients (owner_id, name, age, gender) VALUES ($1, 'P', 151, 'male')`, [userId]);
      await expect(badAge.catch(sqlStateOf)).resolves.toBe('23514');

      const [p] = await ds.query(
        `INSERT INTO patients (owner_id, name, age, gender) VALUES ($1, 'P', 30, 'male') RETURNING id`,
        [userId],
      );
      const [d] = await ds.query(
        `INSERT INTO doctors (name, specialization, email, phone) VALUES ('D', 'S', 'Doc@X.org', '0123456789') RETURNING id`,
      );
      const dupDoctor = ds.query(
        `INSERT INTO doctors (name, specialization, email, phone) VALUES ('E', 'S', 'doc@x.org', '0123456789')`,
      );
      await expect(dupDoctor.catch(sqlStateOf)).resolves.toBe('23505');

      const insertMapping = (ownerId: string) =>
        ds.query(`INSERT INTO patient_doctor_mappings (patient_id, owner_id, doctor_id) VALUES ($1, $2, $3)`, [
          p.id,
          ownerId,
          d.id,
        ]);
      // A mapping's owner must be its patient's owner.
      const [other] = await ds.query(
        `INSERT INTO users (username, username_canonical, email, password_hash) VALUES ('Eve', 'eve', 'eve@example.org', 'x') RETURNING id`,
      );
      await expect(insertMapping(other.id).catch(sqlStateOf)).resolves.toBe('23503');
      await insertMapping(userId);
      await expect(insertMapping(userId).catch(sqlStateOf)).resolves.toBe('23505');

      // A mapping goes when its patient goes.
      await ds.query(`DELETE FROM patients WHERE id = $1`, [p.id]);
      const left = await ds.query(`SELECT count(*)::int AS n FROM patient_doctor_mappings WHERE doctor_id = $1`, [d.id]);
      expect(left[0].n).toBe(0);
    });
  });

  it('RecordHistory: records that exist when it runs get one entry at their current version, with their values', async () => {
    await revertUntil(ds, 'RecordVersions1796290700000');
    const [owner] = await ds.query(
      `INSERT INTO users (username, username_canonical, email, password_hash) VALUES ('Hist', 'hist', 'hist@example.org', 'x') RETURNING id`,
    );
    const [fresh] = await ds.query(`INSERT INTO patients (owner_id, name, age, gender) VALUES ($1, 'Fresh', 30, 'female') RETURNING id`, [owner.id]);
    const [changed] = await ds.query(
      `INSERT INTO patients (owner_id, name, age, gender, version) VALUES ($1, 'Changed', 40, 'male', 3) RETURNING id`,
      [owner.id],
    );
    const [doctor] = await ds.query(
      `INSERT INTO doctors (name, specialization, email, phone, created_by) VALUES ('Dr. H', 'Cardiology', 'h@clinic.example', '5551234567', $1) RETURNING id`,
      [owner.id],
    );
    expect(await runMigrations(ds, !!admin)).toEqual(['RecordHistory1796290800000', 'SoftDelete1796290900000', 'IdempotencyKeys1796291000000']);
    const entries = await ds.query(
      `SELECT patient_id AS id, version, action, changed_by, changes FROM patient_history WHERE patient_id = ANY ($1) ORDER BY version`,
      [[fresh.id, changed.id]],
    );
    expect(entries).toEqual([
      {
        id: fresh.id,
        version: 1,
        action: 'create',
        changed_by: owner.id,
        changes: { name: { from: null, to: 'Fresh' }, age: { from: null, to: 30 }, gender: { from: null, to: 'female' }, address: { from: null, to: '' } },
      },
      { id: changed.id, version: 3, action: 'update', changed_by: owner.id, changes: expect.objectContaining({ name: { from: null, to: 'Changed' } }) },
    ]);
    const [d] = await ds.query(`SELECT version, action, changed_by FROM doctor_history WHERE doctor_id = $1`, [doctor.id]);
    expect(d).toEqual({ version: 1, action: 'create', changed_by: owner.id });
  });

  it('SoftDelete: a deleted doctor frees its email; down() removes the deleted rows for good and restores the full unique index', async () => {
    await revertUntil(ds, 'IdempotencyKeys1796291000000');
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await tables(ds)).not.toContain('idempotency_keys');
    const [owner] = await ds.query(
      `INSERT INTO users (username, username_canonical, email, password_hash) VALUES ('Soft', 'soft', 'soft@example.org', 'x') RETURNING id`,
    );
    const insertDoctor = () =>
      ds.query(`INSERT INTO doctors (name, specialization, email, phone) VALUES ('Dr. S', 'Cardiology', 'Same@clinic.example', '5551234567') RETURNING id`);
    const [gone] = await insertDoctor();
    await expect(insertDoctor().catch(sqlStateOf)).resolves.toBe('23505');
    await ds.query(`UPDATE doctors SET deleted_at = now(), deleted_by = $2 WHERE id = $1`, [gone.id, owner.id]);
    const [live] = await insertDoctor();
    const [patient] = await ds.query(`INSERT INTO patients (owner_id, name, age, gender, deleted_at) VALUES ($1, 'Gone', 30, 'other', now()) RETURNING id`, [owner.id]);

    await ds.undoLastMigration({ transaction: 'each' });
    expect(await ds.query(`SELECT id FROM doctors WHERE id = ANY($1)`, [[gone.id, live.id]])).toEqual([{ id: live.id }]);
    expect(await ds.query(`SELECT id FROM patients WHERE id = $1`, [patient.id])).toEqual([]);
    await expect(insertDoctor().catch(sqlStateOf)).resolves.toBe('23505');
    expect(await runMigrations(ds, !!admin)).toEqual(['SoftDelete1796290900000', 'IdempotencyKeys1796291000000']);
  });
});

if (admin) {
  describe('Migrations on PostgreSQL, several instances at once', () => {
    it('apply pending migrations once, under the advisory lock', async () => {
      const db = await emptyDatabase();
      const sources = await Promise.all([0, 1, 2].map(() => new DataSource(db.options()).initialize()));
      try {
        const applied = await Promise.all(sources.map((s) => runMigrations(s, true)));
        expect(applied.flat()).toEqual(['InitialSchema1764160000000', 'AuditTrail1764250000000', 'AuditSealing1764300000000', ...LATER]);
        const rows = await sources[0].query('SELECT name FROM typeorm_migrations');
        expect(rows).toHaveLength(3 + LATER.length);
      } finally {
        await Promise.all(sources.map((s) => s.destroy()));
        await db.drop();
      }
    });
  });
}
