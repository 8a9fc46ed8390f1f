// The benchmark's database: created and dropped by the harness, filled through
// SQL (generate_series), then VACUUM ANALYZE so the planner and the visibility
// map see the data as a long-running server's would.
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import pg from 'pg';

export function databaseUrl(baseUrl, name) {
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Only names the harness makes itself, so a typo can never drop someone else's database. */
function checkName(name) {
  if (!/^hc_bench[a-z0-9_]*$/.test(name)) throw new Error(`refusing database name ${name}: it must start with hc_bench`);
}

export async function recreateDatabase(admin, name) {
  checkName(name);
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
}

export async function dropDatabase(admin, name) {
  checkName(name);
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

export async function connect(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Margaret', 'Ken'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Backus', 'Hamilton', 'Thompson'];
const SPECIALIZATIONS = ['Cardiology', 'Neurology', 'Oncology', 'Pediatrics', 'Dermatology', 'Orthopedics', 'Psychiatry', 'Radiology'];
const sqlArray = (xs) => `ARRAY[${xs.map((x) => `'${x}'`).join(',')}]`;

/**
 * n patients for one owner, 10 ms apart going back from `newest` (distinct
 * created_at at the column's millisecond precision), varied names, ages and
 * genders. Every owner's rows start from the same `newest`, so their
 * timelines interleave as they would in use, whatever the seeding takes: with
 * now() instead, the owner seeded first would have none of the newest rows,
 * and how many of them there are (so the plans PostgreSQL picks) would depend
 * on how long seeding took.
 */
export async function seedPatients(db, ownerId, n, newest) {
  await db.query(
    `INSERT INTO patients (owner_id, name, age, gender, address, created_at, updated_at)
     SELECT $1::uuid,
            (${sqlArray(FIRST)})[1 + i % 10] || ' ' || (${sqlArray(LAST)})[1 + (i / 10) % 10] || ' ' || i,
            i % 151,
            (ARRAY['male','female','other','unknown'])[1 + i % 4],
            (i % 9999 + 1) || ' Bench Street, Springfield',
            t, t
       FROM generate_series(1, $2::int) AS i,
            LATERAL (SELECT $3::timestamptz - i * interval '10 milliseconds') AS x(t)`,
    [ownerId, n, newest],
  );
}

/** n doctors, one in eight a cardiologist (what ?search=card finds), added by createdBy. */
export async function seedDoctors(db, createdBy, n) {
  await db.query(
    `INSERT INTO doctors (name, specialization, email, phone, created_by, created_at, updated_at)
     SELECT 'Dr. ' || (${sqlArray(FIRST)})[1 + (i / 7) % 10] || ' ' || (${sqlArray(LAST)})[1 + (i / 70) % 10] || ' ' || i,
            (${sqlArray(SPECIALIZATIONS)})[1 + i % 8],
            'doctor' || i || '@bench.example',
            lpad(i::text, 10, '0'),
            $1::uuid, t, t
       FROM generate_series(1, $2::int) AS i,
            LATERAL (SELECT now() - i * interval '1 second') AS x(t)`,
    [createdBy, n],
  );
}

/**
 * Runs `load` with the table's plain indexes (those no constraint owns)
 * dropped, then builds them again from their own definitions (pg_indexes):
 * a bulk build of 1,000,000 rows' indexes takes a fraction of maintaining
 * them row by row (about 27 s instead of 63 s here, the trigram index most
 * of all). The schema afterwards is the migrations' to the letter.
 */
export async function withIndexesRebuilt(db, table, load) {
  const { rows } = await db.query(
    `SELECT indexname, indexdef FROM pg_indexes i
      WHERE schemaname = current_schema() AND tablename = $1
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
    [table],
  );
  for (const { indexname } of rows) await db.query(`DROP INDEX "${indexname.replace(/"/g, '""')}"`);
  await load();
  await db.query("SET maintenance_work_mem = '256MB'");
  for (const { indexdef } of rows) await db.query(indexdef);
  await db.query('RESET maintenance_work_mem');
}

export async function vacuumAnalyze(db) {
  await db.query('VACUUM ANALYZE');
}

/** Writes one column of a query's rows to a file, one value a line (read by the Lua scripts). */
export async function writeIds(db, file, sql, values) {
  const { rows } = await db.query(sql, values);
  writeFileSync(file, `${rows.map((r) => r.id).join('\n')}\n`);
  return rows.map((r) => r.id);
}

/**
 * A cursor for the owner's default list (-created_at) whose next page ends
 * `fromEnd` rows before the end of the list. Sealed as the API seals its
 * cursors (src/common/pagination.ts, key derived in pagination.module.ts:
 * HMAC-SHA256 of the JWT secret with "cursor-v2", AES-256-GCM, the list,
 * ordering and caller as associated data). The harness checks both servers accept it.
 */
export async function cursorNearEnd(db, ownerId, jwtSecret, fromEnd) {
  const { rows } = await db.query(
    `SELECT id, created_at FROM patients WHERE owner_id = $1
      ORDER BY created_at ASC, id ASC OFFSET $2 LIMIT 1`,
    [ownerId, fromEnd],
  );
  if (!rows[0]) throw new Error('no row for the cursor');
  // Bound to the list, the ordering and the caller (the owner, an ordinary user), as the API binds them.
  return sealCursor({ v: rows[0].created_at.toISOString(), i: rows[0].id, r: false }, JSON.stringify(['patients', '-created_at', ownerId, 'user']), jwtSecret);
}

export function sealCursor(payload, scope, jwtSecret) {
  const key = createHmac('sha256', Buffer.from(jwtSecret, 'utf8')).update('cursor-v2').digest();
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(scope, 'utf8'));
  const sealed = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
}
