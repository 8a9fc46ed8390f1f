// The benchmark's yardstick: the routes the scenarios call, answered by a bare
// node:http server doing only the work the contract cannot skip. Same SQL text
// as the API sends (copied from it with bench/tools/log-sql.mjs), but as named
// prepared statements; the same JWT check (jsonwebtoken with a KeyObject, the
// token type, the session row cached for 2 s); the same status codes, JSON
// bodies (snake_case) and response headers; hand-written checks of the bodies
// instead of a validation library. No framework, no ORM.
//
// It implements only what the scenarios send (see bench/README.md); anything
// else is a 404 problem+json.
//
// Env: PORT (3100), HOST (127.0.0.1), DATABASE_URL, JWT_SECRET, DB_POOL_SIZE (10),
// JWT_ACCESS_TTL (900), JWT_REFRESH_IDLE_TTL (1800), JWT_SESSION_TTL (43200),
// THROTTLE_ENABLED (true), USER_RATE_LIMIT (600 a minute per user), AUTH_RATE_LIMIT (30 a minute
// per address on login).
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { verify as argon2Verify, hash as argon2Hash } from '@node-rs/argon2';
import jwt from 'jsonwebtoken';
import pg from 'pg';

const env = process.env;
const PORT = Number(env.PORT ?? 3100);
const HOST = env.HOST ?? '127.0.0.1';
if (!env.JWT_SECRET || env.JWT_SECRET.length < 32) throw new Error('JWT_SECRET (at least 32 characters) is required');
const SECRET = Buffer.from(env.JWT_SECRET, 'utf8');
const KEY = createSecretKey(SECRET);
const ACCESS_TTL = Number(env.JWT_ACCESS_TTL ?? 900);
const REFRESH_IDLE_TTL = Number(env.JWT_REFRESH_IDLE_TTL ?? 1800);
const SESSION_TTL = Number(env.JWT_SESSION_TTL ?? 43200);
const ALLOWED_HOSTS = new Set((env.ALLOWED_HOSTS ?? 'localhost,127.0.0.1,[::1]').split(',').map((h) => h.trim().toLowerCase()));

const pool = new pg.Pool({
  connectionString: env.DATABASE_URL,
  max: Number(env.DB_POOL_SIZE ?? 10),
  connectionTimeoutMillis: 2000,
  options: '-c statement_timeout=5000 -c idle_in_transaction_session_timeout=10000',
});

/** One name per distinct SQL text: pg prepares it once per connection, then only binds and executes. */
const statementNames = new Map();
function query(text, values) {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `b${statementNames.size}`;
    statementNames.set(text, name);
  }
  return pool.query({ name, text, values });
}

/** The same, on one client (inside a transaction). */
function queryOn(client, text, values) {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `b${statementNames.size}`;
    statementNames.set(text, name);
  }
  return client.query({ name, text, values });
}

/** BEGIN, work(client), COMMIT (ROLLBACK on error), as TypeORM's transaction() sends it. */
async function transaction(work) {
  const client = await pool.connect();
  try {
    await client.query('START TRANSACTION');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

// ---- SQL, as the API sends it ------------------------------------------------

const SESSION_CHECK =
  'SELECT u.id, u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id ' +
  'WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active';

const PATIENT_COLUMNS = (a) =>
  ['id', 'owner_id', 'name', 'age', 'gender', 'address', 'version', 'created_at', 'updated_at']
    .map((c) => `"${a}"."${c}" AS "${a}_${c}"`)
    .join(', ');
const PATIENT_BY_ID = `SELECT ${PATIENT_COLUMNS('Patient')} FROM "patients" "Patient" WHERE (("Patient"."id" = $1) AND "Patient"."deleted_at" IS NULL) LIMIT 1`;
const PATIENT_BY_ID_OWNER =
  `SELECT ${PATIENT_COLUMNS('Patient')} FROM "patients" "Patient" ` +
  'WHERE (("Patient"."id" = $1) AND ("Patient"."owner_id" = $2) AND "Patient"."deleted_at" IS NULL) LIMIT 1';
const PATIENT_INSERT =
  'INSERT INTO "patients" AS "Patient"("id", "owner_id", "name", "age", "gender", "address", "created_at", "updated_at") ' +
  'VALUES (DEFAULT, $1, $2, $3, $4, $5, DEFAULT, DEFAULT) ' +
  'RETURNING "id", "owner_id", "name", "age", "gender", "address", "version", "created_at", "updated_at"';
// A record's first history entry, in the transaction of its create (as the API writes it).
const PATIENT_HISTORY_INSERT =
  "INSERT INTO patient_history (patient_id, version, action, changed_by, changes) VALUES ($1, $2, 'create', $3, $4::jsonb)";
const DOCTOR_SELECT =
  'SELECT "d"."id" AS "d_id", "d"."name" AS "d_name", "d"."specialization" AS "d_specialization", ' +
  '"d"."email" AS "d_email", "d"."phone" AS "d_phone", "d"."created_by" AS "d_created_by", "d"."version" AS "d_version", ' +
  '"d"."created_at" AS "d_created_at", "d"."updated_at" AS "d_updated_at" FROM "doctors" "d"';
const MAPPING_INSERT =
  'INSERT INTO "patient_doctor_mappings" AS "Mapping"("id", "patient_id", "owner_id", "doctor_id", "created_at") ' +
  'VALUES (DEFAULT, $1, $2, $3, DEFAULT) RETURNING "id", "patient_id", "owner_id", "doctor_id", "created_at"';
const MAPPING_ENDS =
  'SELECT EXISTS (SELECT 1 FROM (SELECT 1 FROM patients WHERE id = $1 AND deleted_at IS NULL FOR SHARE) p) AS patient, ' +
  'EXISTS (SELECT 1 FROM (SELECT 1 FROM doctors WHERE id = $2 AND deleted_at IS NULL FOR SHARE) d) AS doctor';
const USER_FOR_LOGIN =
  'SELECT "u"."id" AS "u_id", "u"."username" AS "u_username", "u"."email" AS "u_email", "u"."role" AS "u_role", ' +
  '"u"."is_active" AS "u_is_active", "u"."date_joined" AS "u_date_joined", "u"."password_hash" AS "u_password_hash" ' +
  'FROM "users" "u" WHERE lower("u"."username") = lower($1)';
const SESSION_INSERT =
  'INSERT INTO "sessions" AS "Session"("id", "user_id", "refresh_jti", "refresh_expires_at", "expires_at", "revoked_at", "created_at") ' +
  'VALUES (DEFAULT, $1, $2, $3, $4, DEFAULT, DEFAULT) ' +
  'RETURNING "id", "user_id", "refresh_jti", "refresh_expires_at", "expires_at", "revoked_at", "created_at"';

// The audit event every patient read, list and write, every mapping write and every login
// records (src/audit/audit.service.ts: the same text; the database numbers, stamps and queues it).
// patient_ids (GIN-indexed) names every patient the event disclosed, a list's patients included
// (issue 11, item 7: "who saw patient X" finds lists through an index): work the contract requires.
const AUDIT_INSERT = `INSERT INTO audit_events
         (actor_id, session_id, action, resource_type, resource_id, patient_id, patient_ids, result_ids, status, reason,
          request_id, client_ip, user_agent)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`;

/** The patients an event disclosed, as a uuid[] literal (ids are uuids: nothing to quote), or null. */
function patientIdsOf(event) {
  const ids = new Set();
  if (event.patientId) ids.add(event.patientId);
  for (const id of event.patientIds ?? []) ids.add(id);
  return ids.size ? `{${[...ids].join(',')}}` : null;
}

/** One audit event for this request, on `client` (a write's transaction) or on its own. */
function audit(req, res, user, event, client) {
  const ua = req.headers['user-agent'];
  const values = [
    event.actorId !== undefined ? event.actorId : (user?.id ?? null),
    event.sessionId !== undefined ? event.sessionId : (user?.sessionId ?? null),
    event.action,
    event.resourceType ?? null,
    event.resourceId ?? null,
    event.patientId ?? null,
    patientIdsOf(event),
    event.resultIds ? `{${event.resultIds.join(',')}}` : null,
    event.status,
    event.reason ?? null,
    res.requestId,
    req.socket.remoteAddress ?? null,
    typeof ua === 'string' ? ua.slice(0, 512) : null,
  ];
  return client ? queryOn(client, AUDIT_INSERT, values) : query(AUDIT_INSERT, values);
}

// ---- Responses ---------------------------------------------------------------

// The headers every API answer carries (helmet's defaults, the app's own), so
// both servers send the same bytes.
const COMMON_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Origin-Agent-Cluster': '?1',
  'Referrer-Policy': 'no-referrer',
  'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'X-DNS-Prefetch-Control': 'off',
  'X-Download-Options': 'noopen',
  'X-Frame-Options': 'SAMEORIGIN',
  'X-Permitted-Cross-Domain-Policies': 'none',
  'X-XSS-Protection': '0',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
};
const TITLES = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
};
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function send(res, status, body, contentType = 'application/json; charset=utf-8', headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...COMMON_HEADERS,
    ...headers,
    'x-request-id': res.requestId,
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

class Problem extends Error {
  constructor(status, detail, errors) {
    super(detail);
    this.status = status;
    this.errors = errors;
  }
}

function sendProblem(res, path, problem) {
  if (problem.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  if (problem.retryAfter) res.setHeader('Retry-After', String(problem.retryAfter));
  const body = { type: 'about:blank', title: TITLES[problem.status], status: problem.status, detail: problem.message };
  if (problem.errors) body.errors = problem.errors;
  body.instance = path;
  body.request_id = res.requestId;
  send(res, problem.status, body, 'application/problem+json; charset=utf-8');
}

const invalid = (field, message) => new Problem(400, 'The request is invalid; see errors for each field.', { [field]: [message] });

// ---- Authentication ----------------------------------------------------------

const SESSION_CACHE_MS = 2000;
const SESSION_CACHE_MAX = 10_000;
const sessionCache = new Map();
const BAD_TOKEN = 'Authentication credentials were not provided or are invalid.';

async function authenticate(req) {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) throw new Problem(401, BAD_TOKEN);
  let claims;
  try {
    claims = jwt.verify(header.slice(7), KEY, { algorithms: ['HS256'] });
  } catch (error) {
    throw new Problem(401, error?.name === 'TokenExpiredError' ? 'The access token has expired.' : BAD_TOKEN);
  }
  if (claims.typ !== 'access' || typeof claims.sid !== 'string' || typeof claims.sub !== 'string') {
    throw new Problem(401, 'The access token is invalid.');
  }
  const now = Date.now();
  let hit = sessionCache.get(claims.sid);
  if (!hit || hit.until <= now) {
    const { rows } = await query(SESSION_CHECK, [claims.sid]);
    hit = {
      user: rows[0] ? { id: rows[0].id, username: rows[0].username, role: rows[0].role, sessionId: claims.sid } : null,
      until: now + SESSION_CACHE_MS,
    };
    if (sessionCache.size >= SESSION_CACHE_MAX) sessionCache.delete(sessionCache.keys().next().value);
    sessionCache.set(claims.sid, hit);
  }
  if (!hit.user || hit.user.id !== claims.sub) throw new Problem(401, 'The session has ended; log in again.');
  return hit.user;
}

// ---- Rate limits: fixed one-minute windows in memory, as the API's throttler keeps them without Redis ----

const THROTTLE = !['0', 'false', 'no', 'off'].includes(String(env.THROTTLE_ENABLED ?? 'true').toLowerCase());
const USER_RATE_LIMIT = Number(env.USER_RATE_LIMIT ?? 600);
const AUTH_RATE_LIMIT = Number(env.AUTH_RATE_LIMIT ?? 30);
const windows = new Map();

function countRequest(key, limit) {
  if (!THROTTLE) return;
  const now = Date.now();
  let w = windows.get(key);
  if (!w || w.until <= now) {
    if (windows.size >= 100_000) windows.clear();
    w = { count: 0, until: now + 60_000 };
    windows.set(key, w);
  }
  if (++w.count > limit) {
    const problem = new Problem(429, 'Too many requests; slow down and try again after the time in Retry-After.');
    problem.retryAfter = Math.max(1, Math.ceil((w.until - now) / 1000));
    throw problem;
  }
}

async function authenticateAndCount(req) {
  const user = await authenticate(req);
  countRequest(`u:${user.id}`, USER_RATE_LIMIT);
  return user;
}

// ---- Bodies ------------------------------------------------------------------

const BODY_LIMIT = 102_400;

function readJson(req) {
  const type = req.headers['content-type'];
  if (typeof type !== 'string' || !/^application\/json\s*(;|$)/i.test(type)) {
    return Promise.reject(new Problem(415, `Unsupported Media Type: ${type ?? ''}`));
  }
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        reject(new Problem(413, 'Request body is too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        reject(new Problem(400, 'The request body is not valid JSON.'));
        return;
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        reject(new Problem(400, 'The request body must be a JSON object.'));
        return;
      }
      resolve(body);
    });
    req.on('error', reject);
  });
}

const unsafe = (s) => s.includes('\u0000') || !s.isWellFormed();

function onlyFields(body, allowed) {
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw new Problem(
      400,
      `Unknown field(s): ${unknown.join(', ')}.`,
      Object.fromEntries(unknown.map((k) => [k, [`${k} is not an allowed field`]])),
    );
  }
}

const GENDERS = ['male', 'female', 'other', 'unknown'];

function patientBody(body) {
  onlyFields(body, ['name', 'age', 'gender', 'address']);
  const errors = {};
  const { name, age, address } = body;
  const gender = typeof body.gender === 'string' ? body.gender.toLowerCase() : body.gender;
  if (typeof name !== 'string' || name.length < 1 || name.length > 200 || !/\S/.test(name) || unsafe(name)) {
    errors.name = ['name must be a non-blank string of 1 to 200 characters'];
  }
  if (!Number.isInteger(age) || age < 0 || age > 150) errors.age = ['age must be an integer from 0 to 150'];
  if (!GENDERS.includes(gender)) errors.gender = [`gender must be one of: ${GENDERS.join(', ')}`];
  if (address !== undefined && (typeof address !== 'string' || address.length > 500 || unsafe(address))) {
    errors.address = ['address must be a string of at most 500 characters'];
  }
  if (Object.keys(errors).length > 0) throw new Problem(400, 'The request is invalid; see errors for each field.', errors);
  return { name, age, gender, address: address ?? '' };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ---- Pages: the API's keyset pagination and its sealed cursors ----------------

const CURSOR_KEY = createHmac('sha256', SECRET).update('cursor-v2').digest();
const IV_BYTES = 12;
const TAG_BYTES = 16;

function sealCursor(payload, scope) {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', CURSOR_KEY, iv);
  cipher.setAAD(Buffer.from(scope, 'utf8'));
  const sealed = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
}

function openCursor(token, scope) {
  const bad = () => invalid('cursor', 'cursor is invalid, has been tampered with, or belongs to another list');
  if (token.length > 1000 || !/^[A-Za-z0-9_-]+$/.test(token)) throw invalid('cursor', 'cursor is malformed');
  const raw = Buffer.from(token, 'base64url');
  if (raw.length <= IV_BYTES + TAG_BYTES || raw.toString('base64url') !== token) throw bad();
  let payload;
  try {
    const decipher = createDecipheriv('aes-256-gcm', CURSOR_KEY, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(scope, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
    payload = JSON.parse(plain.toString('utf8'));
  } catch {
    throw bad();
  }
  if (typeof payload !== 'object' || payload === null || typeof payload.r !== 'boolean') throw bad();
  if (typeof payload.i !== 'string' || !UUID.test(payload.i)) throw invalid('cursor', 'cursor is invalid');
  return payload;
}

function pageSizeOf(params) {
  const raw = params.get('page_size');
  if (raw === null) return 20;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw invalid('page_size', 'page_size must be a positive integer');
  return Math.min(Number(raw), 100);
}

/** ?ordering= against the list's fields; "-" reverses. */
function orderingOf(params, fields, fallback) {
  const key = params.get('ordering') ?? fallback;
  const descending = key.startsWith('-');
  const field = fields[descending ? key.slice(1) : key];
  if (!field) throw invalid('ordering', `ordering must be one of: ${Object.keys(fields).flatMap((k) => [k, `-${k}`]).join(', ')}`);
  return { key, field, descending };
}

/**
 * keysetPage of src/common/pagination.ts: WHERE ... AND (sort, id) < ($n, $n+1)
 * ORDER BY sort, id LIMIT size+1, the LIMIT written into the text as TypeORM does.
 */
async function keysetPage({ select, alias, where, values, params, fields, list, url, caller }) {
  const ordering = orderingOf(params, fields, '-created_at');
  // Bound to the list, its ordering and the caller, as the API's cursors are.
  const scope = JSON.stringify([list, ordering.key, caller.id, caller.role]);
  const pageSize = pageSizeOf(params);
  const rawCursor = params.get('cursor');
  const cursor = rawCursor === null ? undefined : openCursor(rawCursor, scope);
  const backwards = cursor?.r === true;
  const descending = ordering.descending !== backwards;
  const dir = descending ? 'DESC' : 'ASC';
  const column = `"${alias}"."${ordering.field.column}"`;
  const conditions = [...where];
  const args = [...values];
  if (cursor) {
    const v = cursor.v;
    const kind = ordering.field.kind;
    if ((kind === 'date' && (typeof v !== 'string' || Number.isNaN(Date.parse(v)))) || (kind === 'string' && typeof v !== 'string')) {
      throw invalid('cursor', 'cursor is invalid');
    }
    args.push(v, cursor.i);
    conditions.push(`(${column}, "${alias}"."id") ${descending ? '<' : '>'} ($${args.length - 1}, $${args.length})`);
  }
  const text =
    `${select}${conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : ''} ` +
    `ORDER BY ${column} ${dir}, "${alias}"."id" ${dir} LIMIT ${pageSize + 1}`;
  const { rows } = await query(text, args);
  const hasMore = rows.length > pageSize;
  if (hasMore) rows.pop();
  if (backwards) rows.reverse();
  const link = (row, reverse) => {
    const next = new URL(url);
    const value = row[`${alias}_${ordering.field.column}`];
    const v = ordering.field.kind === 'date' ? value.toISOString() : value;
    next.searchParams.set('cursor', sealCursor({ v, i: row[`${alias}_id`], r: reverse }, scope));
    return next.toString();
  };
  const first = rows[0];
  const last = rows[rows.length - 1];
  const hasNext = backwards ? true : hasMore;
  const hasPrevious = backwards ? hasMore : cursor !== undefined;
  return { next: hasNext && last ? link(last, false) : null, previous: hasPrevious && first ? link(first, true) : null, rows };
}

// ---- Routes ------------------------------------------------------------------

const patientDto = (r, a) => ({
  id: r[`${a}id`],
  name: r[`${a}name`],
  age: r[`${a}age`],
  gender: r[`${a}gender`],
  address: r[`${a}address`],
  version: r[`${a}version`],
  created_at: r[`${a}created_at`].toISOString(),
  updated_at: r[`${a}updated_at`].toISOString(),
});
const doctorDto = (r) => ({
  id: r.d_id,
  name: r.d_name,
  specialization: r.d_specialization,
  email: r.d_email,
  phone: r.d_phone,
  version: r.d_version,
  created_at: r.d_created_at.toISOString(),
  updated_at: r.d_updated_at.toISOString(),
});
const PATIENT_FIELDS = {
  name: { column: 'name', kind: 'string' },
  created_at: { column: 'created_at', kind: 'date' },
  age: { column: 'age', kind: 'number' },
};
const DOCTOR_FIELDS = {
  name: { column: 'name', kind: 'string' },
  specialization: { column: 'specialization', kind: 'string' },
  created_at: { column: 'created_at', kind: 'date' },
};
const likeContains = (term) => `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

async function findVisiblePatient(user, id) {
  const { rows } =
    user.role === 'admin' ? await query(PATIENT_BY_ID, [id]) : await query(PATIENT_BY_ID_OWNER, [id, user.id]);
  if (!rows[0]) throw new Problem(404, 'Patient not found.');
  return rows[0];
}

async function getPatient(req, res, id) {
  const user = await authenticateAndCount(req);
  if (!UUID.test(id)) throw new Problem(404, 'Validation failed (uuid is expected)');
  let patient;
  try {
    patient = await findVisiblePatient(user, id);
  } catch (error) {
    if (error instanceof Problem && error.status === 404) {
      await audit(req, res, user, { action: 'read', resourceType: 'patient', resourceId: id, patientId: id, status: 404, reason: 'not_found' });
    }
    throw error;
  }
  // The data leaves only once its read is on record.
  await audit(req, res, user, { action: 'read', resourceType: 'patient', resourceId: patient.Patient_id, patientId: patient.Patient_id, status: 200 });
  send(res, 200, patientDto(patient, 'Patient_'), undefined, { ETag: `W/"${patient.Patient_version}"` });
}

async function listPatients(req, res, url) {
  const user = await authenticateAndCount(req);
  const admin = user.role === 'admin';
  const page = await keysetPage({
    select: `SELECT ${PATIENT_COLUMNS('p')} FROM "patients" "p"`,
    alias: 'p',
    // Live patients only (deletes can be undone: a deleted row stays, marked).
    where: admin ? ['"p"."deleted_at" IS NULL'] : ['"p"."owner_id" = $1', '"p"."deleted_at" IS NULL'],
    values: admin ? [] : [user.id],
    params: url.searchParams,
    fields: PATIENT_FIELDS,
    list: 'patients',
    url,
    caller: user,
  });
  const results = page.rows.map((r) => patientDto(r, 'p_'));
  const ids = results.map((r) => r.id);
  await audit(req, res, user, { action: 'list', resourceType: 'patient', patientIds: ids, resultIds: ids, status: 200 });
  send(res, 200, { next: page.next, previous: page.previous, results });
}

async function createPatient(req, res) {
  const user = await authenticateAndCount(req);
  const p = patientBody(await readJson(req));
  const row = await transaction(async (client) => {
    const { rows } = await queryOn(client, PATIENT_INSERT, [user.id, p.name, p.age, p.gender, p.address]);
    const r = rows[0];
    const changes = { name: { from: null, to: r.name }, age: { from: null, to: r.age }, gender: { from: null, to: r.gender }, address: { from: null, to: r.address } };
    await queryOn(client, PATIENT_HISTORY_INSERT, [r.id, r.version, user.id, JSON.stringify(changes)]);
    await audit(req, res, user, { action: 'create', resourceType: 'patient', resourceId: rows[0].id, patientId: rows[0].id, status: 201 }, client);
    return rows[0];
  });
  send(res, 201, patientDto(row, ''), undefined, { ETag: `W/"${row.version}"` });
}

async function listDoctors(req, res, url) {
  const user = await authenticateAndCount(req);
  const params = url.searchParams;
  const where = ['"d"."deleted_at" IS NULL'];
  const values = [];
  const search = params.get('search');
  if (search !== null && search !== '') {
    if (search.length > 200) throw invalid('search', 'search must be shorter than or equal to 200 characters');
    values.push(likeContains(search));
    where.push(`("d"."name" ILIKE $${values.length} OR "d"."specialization" ILIKE $${values.length})`);
  }
  const page = await keysetPage({ select: DOCTOR_SELECT, alias: 'd', where, values, params, fields: DOCTOR_FIELDS, list: 'doctors', url, caller: user });
  send(res, 200, { next: page.next, previous: page.previous, results: page.rows.map(doctorDto) });
}

async function createMapping(req, res) {
  const user = await authenticateAndCount(req);
  const body = await readJson(req);
  onlyFields(body, ['patient', 'doctor']);
  const errors = {};
  if (typeof body.patient !== 'string' || !UUID.test(body.patient)) errors.patient = ['patient must be a UUID'];
  if (typeof body.doctor !== 'string' || !UUID.test(body.doctor)) errors.doctor = ['doctor must be a UUID'];
  if (Object.keys(errors).length > 0) throw new Problem(400, 'The request is invalid; see errors for each field.', errors);
  const patient = await findVisiblePatient(user, body.patient);
  let rows;
  try {
    rows = await transaction(async (client) => {
      // Both ends live, locked against a concurrent delete until commit (as the API does).
      const ends = await queryOn(client, MAPPING_ENDS, [patient.Patient_id, body.doctor]);
      if (!ends.rows[0].patient) throw new Problem(404, 'Patient not found.');
      if (!ends.rows[0].doctor) throw new Problem(404, 'Doctor not found.');
      const inserted = await queryOn(client, MAPPING_INSERT, [patient.Patient_id, patient.Patient_owner_id, body.doctor]);
      const mapping = inserted.rows[0];
      await audit(
        req,
        res,
        user,
        { action: 'create', resourceType: 'mapping', resourceId: mapping.id, patientId: mapping.patient_id, status: 201 },
        client,
      );
      return inserted.rows;
    });
  } catch (error) {
    if (error?.code === '23505') throw new Problem(409, 'This doctor is already assigned to this patient.');
    if (error?.code === '23503') {
      throw new Problem(404, String(error.constraint ?? '').includes('patient_id') ? 'Patient not found.' : 'Doctor not found.');
    }
    throw error;
  }
  const m = rows[0];
  send(res, 201, { id: m.id, patient: m.patient_id, doctor: m.doctor_id, created_at: m.created_at.toISOString() });
}

const ARGON2 = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };
const dummyHash = await argon2Hash(randomUUID(), ARGON2);
const BAD_CREDENTIALS = 'No active account found with the given credentials.';

async function login(req, res) {
  countRequest(`ip:${req.socket.remoteAddress}`, AUTH_RATE_LIMIT);
  const body = await readJson(req);
  onlyFields(body, ['username', 'password']);
  if (typeof body.username !== 'string' || body.username.length > 150) throw invalid('username', 'username must be a string');
  if (typeof body.password !== 'string' || body.password.length > 1024) throw invalid('password', 'password must be a string');
  const { rows } = await query(USER_FOR_LOGIN, [body.username.normalize('NFKC')]);
  const user = rows[0];
  const valid = await argon2Verify(user ? user.u_password_hash : dummyHash, body.password).catch(() => false);
  if (!user || !valid || !user.u_is_active) throw new Problem(401, BAD_CREDENTIALS);
  const now = Date.now();
  const expiresAt = new Date(now + SESSION_TTL * 1000);
  const { rows: sessions } = await query(SESSION_INSERT, [
    user.u_id,
    randomUUID(),
    new Date(Math.min(now + REFRESH_IDLE_TTL * 1000, expiresAt.getTime())),
    expiresAt,
  ]);
  const s = sessions[0];
  // No tokens unless the login is on record.
  await audit(req, res, null, {
    action: 'login_succeeded',
    resourceType: 'user',
    resourceId: user.u_id,
    actorId: user.u_id,
    sessionId: s.id,
    status: 200,
  });
  const remaining = Math.floor((s.expires_at.getTime() - Date.now()) / 1000);
  const refresh = jwt.sign({ sub: user.u_id, sid: s.id, jti: s.refresh_jti, typ: 'refresh' }, KEY, {
    algorithm: 'HS256',
    expiresIn: Math.max(1, Math.min(REFRESH_IDLE_TTL, remaining)),
  });
  const access = jwt.sign({ sub: user.u_id, sid: s.id, jti: randomUUID(), typ: 'access' }, KEY, {
    algorithm: 'HS256',
    expiresIn: ACCESS_TTL,
  });
  send(res, 200, { refresh, access });
}

const PATIENT_PATH = /^\/api\/patients\/([^/]+)\/?$/;

function route(req, res, url) {
  const path = url.pathname;
  const method = req.method;
  if (method === 'GET') {
    const m = PATIENT_PATH.exec(path);
    if (m) return getPatient(req, res, m[1]);
    if (path === '/api/patients/' || path === '/api/patients') return listPatients(req, res, url);
    if (path === '/api/doctors/' || path === '/api/doctors') return listDoctors(req, res, url);
    if (path === '/health') return send(res, 200, { status: 'ok' });
  } else if (method === 'POST') {
    if (path === '/api/patients/' || path === '/api/patients') return createPatient(req, res);
    if (path === '/api/mappings/' || path === '/api/mappings') return createMapping(req, res);
    if (path === '/api/auth/login/' || path === '/api/auth/login') return login(req, res);
  }
  throw new Problem(404, 'Not found.');
}

function hostName(host) {
  if (!host) return '';
  const h = host.toLowerCase();
  const end = h.startsWith('[') ? h.indexOf(']') + 1 : h.indexOf(':');
  return end > 0 ? h.slice(0, end) : h;
}

const server = createServer(async (req, res) => {
  const given = req.headers['x-request-id'];
  res.requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  let url;
  try {
    if (!ALLOWED_HOSTS.has(hostName(req.headers.host))) throw new Problem(400, 'The Host header is not allowed.');
    url = new URL(req.url, `http://${req.headers.host}`);
    await route(req, res, url);
  } catch (error) {
    const problem = error instanceof Problem ? error : new Problem(500, 'An unexpected error occurred.');
    if (problem.status === 500) process.stderr.write(`baseline: ${res.requestId} ${error?.stack ?? error}\n`);
    if (!res.headersSent) sendProblem(res, url?.pathname ?? req.url.split('?')[0], problem);
  }
});
// Fastify's default, so idle keep-alive connections live as long on both servers.
server.keepAliveTimeout = 72_000;
server.listen(PORT, HOST, () => process.stdout.write(`baseline on http://${HOST}:${PORT}\n`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close(() => pool.end().finally(() => process.exit(0)));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 3000).unref();
  });
}
