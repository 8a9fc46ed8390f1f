import fc from 'fast-check';
import { anyDateTime, JSON_BOUND_CASES, jsonBoundKeyLength, jsonBoundTag } from './classes.js';
import { Obj, percentEncode, Raw, toJson, type Json } from './json.js';
import type { Operation, Parameter, Schema } from './openapi.js';
import { FORGED_TOKENS, REFRESH_CHOICES, type TokenKind } from './tokens.js';

/**
 * What a clean request (valid token, nothing mutated) must get:
 * ok: 2xx, or 404/409 when a record it names is gone or taken meanwhile;
 * hidden: 404 (another user's record, or none); forbidden: 403;
 * unauthorized: 401 (wrong credentials at login);
 * invalid: 400 naming one of the spec's `invalid` fields (a clean request
 * but for one value the server must refuse: a non-RFC 3339 date-time,
 * someone else's cursor).
 */
export type Expectation = 'ok' | 'hidden' | 'forbidden' | 'unauthorized' | 'invalid';

export type BodySpec =
  | { kind: 'none' }
  /** A JSON tree, sent as application/json unless contentType says otherwise (null: no Content-Type). */
  | { kind: 'json'; value: Json; contentType?: string | null }
  /** Text as is; `latin1` sends each char as one byte, for invalid UTF-8. */
  | { kind: 'text'; text: string; contentType?: string | null; latin1?: boolean };

/**
 * One generated request, symbolic: @@placeholders@@ (ids, tokens, the
 * password, cursors) are resolved when it is sent, against the world as it
 * is then, so a run replays with its seed even though ids differ.
 */
export interface RequestSpec {
  op: string;
  method: string;
  as: 'user' | 'admin';
  token: TokenKind;
  /** Percent-encoded path, with placeholders. */
  path: string;
  /** Percent-encoded query string without '?', with placeholders ('' for none). */
  query: string;
  body: BodySpec;
  headers: Record<string, string>;
  expect?: Expectation;
  /** The mutations applied (none: a clean request). */
  tags: string[];
  /** Follow the n-th next/previous link collected so far instead of building a URL. */
  follow?: number;
  /** With expect 'invalid': the fields the 400 may name. */
  invalid?: string[];
}

/** Mutations that make an otherwise clean request a 400 on a known field (expect 'invalid'). */
export const INVALID_VALUE_TAGS = ['iso8601-other', 'foreign-cursor'];

// ---------------------------------------------------------------- values

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** One code point per unit, so lengths count as the server counts them. */
const CHAR = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...`${LETTERS}0123456789 .,-'`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'é', 'ß', 'ø', 'İ', 'ﬁ', 'Ａ', '漢', '字', 'ع', '😀', '𝕏', '\u0301', '\u200b', '\u202e', '\ufeff', '\u00a0',
      '<', '>', '&', '"', '\\', '%', '_', '*', '/', '\n', '\t', '\u0007', '\u007f', '$', '{', '}', ';', '`',
    ),
  },
);

const text = (minLength: number, maxLength: number) => fc.string({ unit: CHAR, minLength, maxLength });
/** Not blank: the server wants one non-space character (\S). */
const nonBlank = (maxLength: number) =>
  fc.tuple(fc.constantFrom(...LETTERS), text(0, Math.min(maxLength - 1, 40))).map(([a, b]) => `${a}${b}`);
const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`));
const WORDS = ['Copper', 'Falcon', 'Meadow', 'Harbour', 'Lantern', 'Quiet', 'Orbit', 'Velvet', 'Canyon', 'Juniper', 'Saffron', 'Tundra'];
export const strongPassword = fc
  .tuple(fc.constantFrom(...WORDS), fc.constantFrom(...WORDS), fc.constantFrom(...WORDS), fc.integer({ min: 10, max: 99 }))
  .map(([a, b, c, n]) => `${a}-${b}-${c}-${n}`);
const email = fc.oneof(
  { weight: 8, arbitrary: hex(12).map((h) => `dr.${h}@clinic.example`) },
  { weight: 1, arbitrary: hex(12).map((h) => `Dr.${h}+Tag@Clinic.Example`) },
  { weight: 1, arbitrary: hex(12).map((h) => `${h}@sub.domain.clinic.example`) },
);
const ref = (pool: string) => fc.nat(60).map((i) => `@@${pool}.${i}@@`);

/** A fresh UUID-shaped id that names nothing. */
const unknownUuid = fc.uuid({ version: 4 });

// ---------------------------------------------------------------- path ids

/** A part of a request and what it alone calls for: null when the answer depends on state the generator cannot see. */
interface IdChoice {
  value: string;
  tags: string[];
  expect: Expectation | null;
}

/** Which pools a path {id} draws from, by route. */
function idTargets(op: Operation): { own: string; victim: string; victimExpect: Expectation; ownExpect: Expectation } {
  const write = op.method !== 'GET';
  if (op.path.startsWith('/api/patients/')) return { own: 'ownPatient', victim: 'victimPatient', victimExpect: 'hidden', ownExpect: 'ok' };
  if (op.path.startsWith('/api/doctors/'))
    return { own: 'ownDoctor', victim: 'victimDoctor', victimExpect: write ? 'forbidden' : 'ok', ownExpect: 'ok' };
  if (op.path.startsWith('/api/mappings/'))
    return op.method === 'GET'
      ? { own: 'ownPatient', victim: 'victimPatient', victimExpect: 'hidden', ownExpect: 'ok' }
      : { own: 'ownMapping', victim: 'victimMapping', victimExpect: 'hidden', ownExpect: 'ok' };
  if (op.path.startsWith('/api/admin/users/'))
    // An admin changes only the bystander: the victim's and the admin's own rows must stay as they are.
    return write
      ? { own: 'bystanderUser', victim: 'bystanderUser', victimExpect: 'ok', ownExpect: 'ok' }
      : { own: 'bystanderUser', victim: 'victimUser', victimExpect: 'ok', ownExpect: 'ok' };
  return { own: 'ownPatient', victim: 'victimPatient', victimExpect: 'hidden', ownExpect: 'ok' };
}

const BAD_IDS: [string, string][] = [
  ['1', 'bad-uuid'],
  ['0', 'bad-uuid'],
  ['-1', 'bad-uuid'],
  ['null', 'bad-uuid'],
  ['undefined', 'bad-uuid'],
  ['__proto__', 'bad-uuid'],
  ['constructor', 'bad-uuid'],
  ['00000000-0000-0000-0000-000000000000', 'bad-uuid'],
  ['ffffffff-ffff-ffff-ffff-ffffffffffff', 'bad-uuid'],
  ['%7B3f1c6f2d-9a10-4c39-9a57-0b8f5c1e6f0e%7D', 'bad-uuid'],
  ['urn%3Auuid%3A3f1c6f2d-9a10-4c39-9a57-0b8f5c1e6f0e', 'bad-uuid'],
  ['3f1c6f2d9a104c399a570b8f5c1e6f0e', 'bad-uuid'],
  ['3f1c6f2d-9a10-4c39-9a57-0b8f5c1e6f0', 'bad-uuid'],
  ['3f1c6f2d-9a10-4c39-9a57-0b8f5c1e6f0e0', 'bad-uuid'],
  ['%203f1c6f2d-9a10-4c39-9a57-0b8f5c1e6f0e', 'bad-uuid'],
  ['3f1c6f2d-9a10-4c39-9a57-0b8f5c1e6f0g', 'bad-uuid'],
  ['%00', 'bad-uuid'],
  ['%2e%2e', 'bad-uuid'],
  ['..', 'bad-uuid'],
  ['%2F', 'bad-uuid'],
  ['%252F', 'bad-uuid'],
  ['%E2%80%AE', 'bad-uuid'],
  ['%F0%9F%98%80', 'bad-uuid'],
  ["1'%20OR%20'1'%3D'1", 'bad-uuid'],
  ['%0D%0ASet-Cookie%3A%20a%3Db', 'bad-uuid'],
  ['*', 'bad-uuid'],
  ['%ED%A0%80', 'bad-url'],
  ['%C0%AE', 'bad-url'],
  ['%zz', 'bad-url'],
  ['%E0%A4%A', 'bad-url'],
  ['a'.repeat(101), 'long-param'],
  ['a'.repeat(2000), 'long-param'],
];

function pathId(op: Operation): fc.Arbitrary<IdChoice> {
  const t = idTargets(op);
  return fc.oneof(
    { weight: 6, arbitrary: ref(t.own).map((value) => ({ value, tags: [], expect: t.ownExpect })) },
    { weight: 3, arbitrary: ref(t.victim).map((value) => ({ value, tags: [], expect: t.victimExpect })) },
    { weight: 1, arbitrary: unknownUuid.map((value) => ({ value, tags: [], expect: 'hidden' as Expectation })) },
    // The server may accept an upper-case UUID for a record the caller may see; never for another's.
    {
      weight: 1,
      arbitrary: ref(t.victim).map((value) => ({
        value: value.replace('@@', '@@upper:'),
        tags: ['uuid-case'],
        expect: t.victimExpect === 'ok' ? null : t.victimExpect,
      })),
    },
    { weight: 3, arbitrary: fc.constantFrom(...BAD_IDS).map(([value, tag]) => ({ value, tags: [tag], expect: null })) },
    {
      weight: 1,
      arbitrary: fc.string({ unit: CHAR, maxLength: 40 }).map((s) => ({ value: percentEncode(s) || 'x', tags: ['bad-uuid'], expect: null })),
    },
  );
}

// ---------------------------------------------------------------- queries

interface QueryPart {
  pairs: string[];
  tags: string[];
  /** Fields given a value the server must refuse (INVALID_VALUE_TAGS). */
  invalid?: string[];
}

/** A date-time parameter in any ISO 8601 form (issue 11, item 10): RFC 3339 clean, the rest refused. */
function dateTimeParam(p: Parameter): fc.Arbitrary<QueryPart> {
  return anyDateTime.map(({ value, verdict }) => ({
    pairs: [`${p.name}=${value}`],
    tags: verdict === 'rfc3339' ? [] : [`iso8601-${verdict}`],
    invalid: verdict === 'other' ? [p.name] : undefined,
  }));
}

/** Someone else's cursor for this list (issue 11, item 6): resolved by the world, refused with 400. */
const foreignCursor: fc.Arbitrary<QueryPart> = fc
  .nat(60)
  .map((i) => ({ pairs: [`cursor=@@foreignCursor.${i}@@`], tags: ['foreign-cursor'], invalid: ['cursor'] }));

const NUMBER_JUNK = [
  '-1', '0', '151', '101', '1.5', '1e2', '%201', '%2B1', '0x10', 'NaN', 'Infinity', '-0', '', '9'.repeat(30), '9'.repeat(1200),
  '%D9%A1%D9%A2', '%EF%BC%91', '1%2C2', 'true', '[1]',
];
const STRING_JUNK = [
  'a'.repeat(201), 'a'.repeat(5000), '%25', '_', "'", '%5C', '%27%3B%20DROP%20TABLE%20patients%3B--', '%0D%0A', '%E2%80%AE', '%F0%9F%98%80',
];
const UNSAFE_QUERY = ['%00', 'a%00b', '%ED%A0%80', 'x%ED%B0%80'];
const INVALID_ESCAPES = ['%zz', '%', '%E0%A4%A', '%C0%80'];
const BOOL_JUNK = ['1', '0', 'yes', 'TRUE', 'False', '', 'null', 'maybe'];

/** A cursor that the server never issued, or one it issued for another list, or a tampered one. */
const badCursor = fc.oneof(
  fc.constantFrom('AAAA', 'A', '____', 'eyJ2IjoxfQ', '=', 'AAAA%3D', '!!!', '%00', '..%2F..', '-'.repeat(1001)),
  fc.base64String({ minLength: 4, maxLength: 200 }).map((s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') || 'AA'),
  hex(64),
  fc.nat(60).map((i) => `@@cursorFlip.${i}@@`),
  fc.nat(60).map((i) => `@@cursor.${i}@@`),
);

function uuidRefFor(name: string): fc.Arbitrary<string> {
  if (name === 'owner') return fc.constantFrom('@@fuzzUser@@', '@@victimUser@@', '@@adminUser@@', '@@bystanderUser@@');
  if (name === 'patient') return fc.oneof(ref('ownPatient'), ref('victimPatient'));
  if (name === 'doctor') return fc.oneof(ref('ownDoctor'), ref('victimDoctor'));
  return unknownUuid;
}

function cleanParam(p: Parameter): fc.Arbitrary<string> | undefined {
  const s = p.schema;
  if (p.name === 'cursor') return undefined;
  if (p.name === 'page_size') return fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 101, max: 100_000 })).map(String);
  if (Array.isArray(s.enum)) {
    const values = s.enum.filter((v: unknown) => typeof v === 'string') as string[];
    // gender is case-insensitive on input.
    return p.name === 'gender'
      ? fc.tuple(fc.constantFrom(...values), fc.boolean()).map(([v, up]) => (up ? v.toUpperCase() : v))
      : fc.constantFrom(...values);
  }
  if (s.format === 'uuid') return uuidRefFor(p.name);
  // An RFC 3339 date-time, percent-encoded (the `+` of an offset would read as a space).
  if (s.format === 'date-time') {
    return fc
      .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
      .map((d) => encodeURIComponent(d.toISOString()));
  }
  if (s.type === 'boolean') return fc.constantFrom('true', 'false');
  if (s.type === 'number' || s.type === 'integer') return fc.integer({ min: s.minimum ?? 0, max: s.maximum ?? 1000 }).map(String);
  // A search needs a letter or digit (issue 11 item 9); wildcards stay, next to one.
  if (p.name === 'search')
    return fc.oneof(
      // At most 10 spaces or punctuation (SEARCH_MAX_OTHER_CHARS): 11 of them are a 400.
      text(0, 10).map((t) => `a${percentEncode(t)}`),
      fc.constantFrom('@@victimMarker@@', 'Patient', 'Dr', 'Cardio', '50%25', 'a_', 'O%27'),
    );
  if (s.type === 'string')
    return fc.oneof(
      text(0, 12).map(percentEncode),
      fc.constantFrom('@@victimMarker@@', 'Patient', 'Dr', 'Cardio', '%25', '_', '%27'),
    );
  return undefined;
}

function junkParam(p: Parameter): fc.Arbitrary<[string, string]> {
  const s = p.schema;
  const unsafe = fc.constantFrom(...UNSAFE_QUERY).map((v) => [v, 'unsafe-query'] as [string, string]);
  const escapes = fc.constantFrom(...INVALID_ESCAPES).map((v) => [v, 'bad-escape'] as [string, string]);
  let junk: fc.Arbitrary<string>;
  if (p.name === 'cursor') junk = badCursor;
  else if (s.type === 'number' || s.type === 'integer') junk = fc.constantFrom(...NUMBER_JUNK);
  else if (s.format === 'uuid') junk = fc.constantFrom(...BAD_IDS.map(([v]) => v));
  else if (s.type === 'boolean') junk = fc.constantFrom(...BOOL_JUNK);
  else if (Array.isArray(s.enum))
    junk = fc.constantFrom('NAME', '-', '--name', 'name,age', 'id', 'password_hash', 'owner_id', '-%00', 'random', '');
  else junk = fc.constantFrom(...STRING_JUNK);
  return fc.oneof(
    { weight: 8, arbitrary: junk.map((v) => [v, p.name === 'cursor' ? 'bad-cursor' : 'bad-param'] as [string, string]) },
    { weight: 1, arbitrary: unsafe },
    { weight: 1, arbitrary: escapes },
  );
}

const EXTRA_PARAMS = [
  'owner', 'owner_id', 'foo', '__proto__', 'constructor', 'constructor%5Bprototype%5D%5Brole%5D', 'page_size%5B%5D', 'search%5B%24ne%5D',
  'id', 'limit', 'offset', 'format', 'hasOwnProperty', 'toString', 'valueOf', 'then',
];

function queryFor(op: Operation): fc.Arbitrary<QueryPart> {
  const params = op.params.filter((p) => p.in === 'query');
  const perParam = params.map((p) =>
    fc.oneof(
      { weight: 5, arbitrary: fc.constant<QueryPart>({ pairs: [], tags: [] }) },
      ...(cleanParam(p)
        ? [{ weight: 4, arbitrary: cleanParam(p)!.map((v): QueryPart => ({ pairs: [`${p.name}=${v}`], tags: [] })) }]
        : []),
      { weight: 2, arbitrary: junkParam(p).map(([v, tag]): QueryPart => ({ pairs: [`${p.name}=${v}`], tags: [tag] })) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(cleanParam(p) ?? fc.constant('1'), cleanParam(p) ?? fc.constant('2'))
          .map(([a, b]): QueryPart => ({ pairs: [`${p.name}=${a}`, `${p.name}=${b}`], tags: ['repeated-param'] })),
      },
      ...(p.schema.format === 'date-time' ? [{ weight: 4, arbitrary: dateTimeParam(p) }] : []),
      ...(p.name === 'cursor' ? [{ weight: 1, arbitrary: foreignCursor }] : []),
    ),
  );
  const extra = fc.oneof(
    { weight: 9, arbitrary: fc.constant<QueryPart>({ pairs: [], tags: [] }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...EXTRA_PARAMS), fc.constantFrom('1', '@@victimUser@@', 'admin', 'x'))
        .map(([k, v]): QueryPart => ({ pairs: [`${k}=${v}`], tags: ['unknown-param'] })),
    },
    {
      weight: 1,
      // 3000 makes the URL longer than the header limit: 431, answered on the socket.
      arbitrary: fc
        .constantFrom(100, 1000, 3000)
        .map((n): QueryPart => ({ pairs: Array.from({ length: n }, (_, i) => `p${i}=${i}`), tags: ['many-params'] })),
    },
  );
  return fc.tuple(...perParam, extra).map((parts) => ({
    pairs: parts.flatMap((p) => p.pairs),
    tags: parts.flatMap((p) => p.tags),
    invalid: parts.flatMap((p) => p.invalid ?? []),
  }));
}

// ---------------------------------------------------------------- bodies

interface BodyPart {
  value: Obj;
  expect: Expectation | null;
}

function casedGender(values: string[]) {
  return fc
    .tuple(fc.constantFrom(...values), fc.constantFrom('lower', 'upper', 'title'))
    .map(([v, c]) => (c === 'upper' ? v.toUpperCase() : c === 'title' ? `${v[0].toUpperCase()}${v.slice(1)}` : v));
}

/** A server-valid value for one field of a body, by its name and schema. */
function fieldValue(name: string, s: Schema): fc.Arbitrary<Json> {
  if (name === 'gender' && Array.isArray(s.enum)) return casedGender(s.enum as string[]);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as Json[]));
  if (name === 'email' || s.format === 'email') return email;
  if (name === 'phone' || s.pattern === '^[0-9]{10}$') return fc.stringMatching(/^[0-9]{10}$/);
  if (s.pattern === '^\\d{6}$') return fc.stringMatching(/^[0-9]{6}$/);
  if (name === 'name' || name === 'specialization') return nonBlank(s.maxLength ?? 200);
  if (name === 'username') return hex(10).map((h) => `fz_${h}`);
  if (name === 'password' || name === 'new_password') return strongPassword;
  if (name === 'old_password') return fc.constant('@@fuzzPassword@@');
  if (name === 'refresh') return fc.constantFrom(...REFRESH_CHOICES);
  if (s.format === 'uuid') return unknownUuid;
  if (s.type === 'boolean') return fc.boolean();
  if (s.type === 'number' || s.type === 'integer') return fc.integer({ min: s.minimum ?? 0, max: s.maximum ?? 1000 });
  if (s.type === 'string') return text(s.minLength ?? 0, Math.min(s.maxLength ?? 60, 60));
  return fc.constant(null);
}

/** A server-valid body for an operation: required fields always, optional ones sometimes. */
function cleanBody(op: Operation): fc.Arbitrary<BodyPart> {
  const schema = op.body!;
  // Operations whose fields name records or credentials: the clean body is built on purpose.
  const body = (expect: Expectation | null, ...entries: [string, Json][]): BodyPart => ({ value: new Obj(entries), expect });
  if (op.id === 'mappingsCreate') {
    // Any doctor may be assigned, the victim's too; only the caller's patients.
    const doctor = fc.oneof(ref('ownDoctor'), ref('victimDoctor'));
    return fc.oneof(
      { weight: 4, arbitrary: fc.tuple(ref('ownPatient'), doctor).map(([p, d]) => body('ok', ['patient', p], ['doctor', d])) },
      { weight: 2, arbitrary: fc.tuple(ref('victimPatient'), doctor).map(([p, d]) => body('hidden', ['patient', p], ['doctor', d])) },
      { weight: 1, arbitrary: fc.tuple(ref('ownPatient'), unknownUuid).map(([p, d]) => body('hidden', ['patient', p], ['doctor', d])) },
    );
  }
  if (op.id === 'authLogin') {
    return fc.oneof(
      fc.constant(body('ok', ['username', '@@fuzzUsername@@'], ['password', '@@fuzzPassword@@'])),
      // Wrong passwords only for names other than the fuzzing user's, whose
      // login must keep working (a per-username lockout would lock it).
      fc
        .tuple(fc.constantFrom('@@victimUsername@@', 'nobody_here', 'admin'), strongPassword)
        .map(([u, p]) => body('unauthorized', ['username', u], ['password', p])),
    );
  }
  if (op.id === 'authRefresh' || op.id === 'authLogout') {
    // A used or logged-out refresh token still verifies: logout accepts it as proof
    // (its session ends, or had ended), refresh refuses it. An empty one is the DTO's to judge.
    const undecided = op.id === 'authLogout' ? ['', '@@staleRefresh@@', '@@loggedOutRefresh@@'] : [''];
    return fc
      .constantFrom(...REFRESH_CHOICES)
      .map((r) => body(r === '@@refresh@@' ? 'ok' : undecided.includes(r) ? null : 'unauthorized', ['refresh', r]));
  }
  if (op.id === 'authRegister') {
    return fc
      .tuple(hex(12), strongPassword, fc.boolean())
      .map(([h, password, unicode]) =>
        body('ok', ['username', unicode ? `fz_ñandú_${h}` : `fz_${h}`], ['email', `${h}@example.org`], ['password', password]),
      );
  }
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required ?? []) as string[]);
  const names = Object.keys(properties);
  return fc
    .tuple(...names.map((n) => fc.tuple(fieldValue(n, properties[n]), required.has(n) ? fc.constant(true) : fc.boolean())))
    .map((fields) => {
      const entries: [string, Json][] = [];
      fields.forEach(([value, present], i) => {
        if (present) entries.push([names[i], value]);
      });
      // (For the password change: the right old password, a strong new one; see fieldValue.)
      return body('ok', ...entries);
    });
}

const WRONG_TYPES: Json[] = [0, -1, 1.5, true, false, null, '', '42', 'true', [], ['x'], new Obj([]), new Obj([['$ne', null]]), [new Obj([])]];
/** As JSON text: JSON.stringify cannot write 1E400 or -0. 32768 and 2147483648 overflow smallint and integer. */
const EDGE_NUMBERS = [
  '-1', '151', '150', '0', '-0', '1.5', '1e2', '1E400', '-1e400', '1e-400', '9007199254740991', '9007199254740993', '0.1e1', '32768', '-32769',
  '2147483648', '150.0', '1e308', '-9223372036854775809',
];
const MALFORMED_NUMBERS = ['NaN', 'Infinity', '-Infinity', '0x10', '01', '+1', '.5', '1.', '1e'];
const EXTRA_FIELDS = [
  'owner', 'owner_id', 'role', 'id', 'created_at', 'updated_at', 'is_active', 'is_staff', 'is_superuser', 'password_hash', 'user', 'user_id',
  'sub', 'created_by', 'date_joined', 'mapping_id',
  // Names of Object.prototype members and promise hooks: code that trusts a body's keys trips on them.
  'hasOwnProperty', 'toString', 'valueOf', 'isPrototypeOf', 'toJSON', 'then', '__defineGetter__', '__lookupGetter__',
];
/** Addresses IsEmail and the document's format: email may judge differently. */
const ODD_EMAILS = [
  'ü@bücher.example', 'user@bücher.example', '"a b"@clinic.example', 'a@[127.0.0.1]', 'a@localhost', `${'a'.repeat(64)}@clinic.example`,
  `${'a'.repeat(65)}@clinic.example`, 'a..b@clinic.example', '.a@clinic.example', 'a@clinic.example.', 'a@-clinic.example', 'a@clinic',
  "o'brien@clinic.example", 'a@xn--bcher-kva.example', 'a@clinic.example\n', 'a@b.c', `a@${'b'.repeat(63)}.example`, `a@${'b'.repeat(64)}.example`,
  '"a"@clinic.example', '"<script>"@clinic.example', 'a@clinic.example\u200b', 'a\u200b@clinic.example', 'aé@clinic.example', 'ａ@clinic.example',
];
const EXTRA_VALUES: Json[] = ['@@victimUser@@', 'admin', true, '2000-01-01T00:00:00.000Z', 1, '@@victimPatient.0@@', null];
const CONTENT_TYPES = [
  'text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml',
  'application/json; charset=utf-16', 'application/json; charset=latin1', 'application/json; charset=utf-8', 'APPLICATION/JSON',
  'application/json;charset=UTF-8', 'application/jsonp', 'application/json-patch+json', 'application/merge-patch+json', 'application/problem+json',
  'application/vnd.api+json', '*/*', 'application/*', 'json', '',
];
const ROOT_NOT_OBJECT = ['null', 'true', '1', '"x"', '[]', '[{}]', '""'];

function nested(depth: number, array: boolean): Raw {
  return new Raw(array ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
}

/** A field of the body to mutate (or a schema field when the body is empty). */
function pickField(obj: Obj, schema: Schema | undefined, i: number): string {
  const keys = obj.keys().length > 0 ? obj.keys() : Object.keys(schema?.properties ?? { name: {} });
  return keys[i % keys.length];
}

interface Mutated {
  body: BodySpec;
  tags: string[];
}

/** One mutation of a clean body: wrong types, edge numbers, unsafe strings, extra and prototype keys, bad JSON, wrong Content-Type... */
function mutateBody(op: Operation, clean: Obj): fc.Arbitrary<Mutated> {
  const schema = op.body;
  const json = (value: Json, tag: string): Mutated => ({ body: { kind: 'json', value }, tags: [tag] });
  const field = fc.nat(20).map((i) => pickField(clean, schema, i));
  const serialized = toJson(clean);
  return fc.oneof(
    fc.tuple(field, fc.constantFrom(...WRONG_TYPES)).map(([f, v]) => json(clean.with(f, v), 'wrong-type')),
    fc.tuple(field, fc.constantFrom(...EDGE_NUMBERS)).map(([f, v]) => json(clean.with(f, new Raw(v)), 'edge-number')),
    fc
      .tuple(fc.constantFrom('age', 'is_active'), fc.constantFrom(...EDGE_NUMBERS))
      .map(([f, v]) => json(clean.with(f, new Raw(v)), 'edge-number')),
    fc.tuple(field, fc.constantFrom(...MALFORMED_NUMBERS)).map(([f, v]) => json(clean.with(f, new Raw(v)), 'malformed-json')),
    fc
      .tuple(field, fc.constantFrom(201, 255, 501, 1000, 5000, 60_000), fc.constantFrom('x', '😀', 'é', ' '))
      .map(([f, n, c]) => json(clean.with(f, c.repeat(n)), 'huge-string')),
    fc
      .tuple(field, fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udfff', '\udc00\ud800'), fc.boolean())
      .map(([f, v, asKey]) => json(asKey ? clean.append(`${f}${v}`, 1) : clean.with(f, v), 'unsafe-string')),
    fc
      .tuple(fc.constantFrom(...EXTRA_FIELDS), fc.constantFrom(...EXTRA_VALUES))
      .map(([k, v]) => json(clean.append(k, v), 'extra-field')),
    fc
      .tuple(
        fc.constantFrom('__proto__', 'constructor', 'prototype'),
        fc.constantFrom<Json>(
          new Obj([['role', 'admin'], ['isAdmin', true]]),
          new Obj([['prototype', new Obj([['role', 'admin']])]]),
          null,
          'x',
        ),
        fc.boolean(),
        field,
      )
      // Fastify refuses __proto__ and constructor.prototype while parsing; a plain
      // "prototype" key or a "constructor" without a prototype reaches validation.
      .map(([k, v, inField, f]) => {
        const body = inField ? clean.with(f, new Obj([[k, v]])) : clean.append(k, v);
        return json(body, 'proto-key');
      }),
    fc.constantFrom<Json>([clean], [], [serialized]).map((v) => json(v, 'root-not-object')),
    fc.tuple(field, fc.boolean()).map(([f, wrapObj]) => {
      const current = clean.entries.find(([k]) => k === f)?.[1] ?? 'x';
      return json(clean.with(f, wrapObj ? new Obj([['value', current]]) : [current]), 'array-or-object-for-value');
    }),
    fc
      .tuple(field, fc.constantFrom(3, 30, 31, 32, 33, 64, 1000, 20_000), fc.boolean())
      .map(([f, d, arr]) => json(clean.with(f, nested(d, arr)), 'deep-nesting')),
    fc.constantFrom(33, 100, 5000).map((d): Mutated => ({ body: { kind: 'text', text: nested(d, true).text }, tags: ['deep-nesting'] })),
    fc.tuple(field, fc.boolean()).map(([f, all]) => json(all ? new Obj([]) : clean.without(f), 'missing-field')),
    fc
      .tuple(fc.constantFrom(100, 2000, 10_000), fc.constantFrom(1, 40, 2000))
      .map(([n, len]) => {
        const extra = Array.from({ length: n }, (_, i): [string, Json] => [`k${i}${'x'.repeat(len)}`, i]);
        return json(new Obj([...clean.entries, ...extra]), 'many-keys');
      }),
    fc.tuple(field, fc.constantFrom(1000, 20_000)).map(([f, n]) => json(clean.with(f, new Raw(`[${'1,'.repeat(n - 1)}1]`)), 'big-array')),
    // Near and past the shape bounds (issue 11, item 2): 64 keys an object, 256 in all, 256 items an array, 1,024 in all.
    fc
      .constantFrom(...JSON_BOUND_CASES)
      .chain((c) => jsonBoundKeyLength(c).map((len) => json(c.build(clean, len), jsonBoundTag(c)))),
    field.map((f) => json(clean.with(f, null), 'null-field')),
    fc.tuple(field, fc.constantFrom(...WRONG_TYPES)).map(([f, v]) => json(clean.append(f, v), 'duplicate-key')),
    fc
      .tuple(
        field,
        fc.constantFrom(
          (k: string) => k.toUpperCase(),
          (k: string) => ` ${k}`,
          (k: string) => `${k}\u200b`,
          (k: string) => `${k}.x`,
          (k: string) => `${k}[]`,
        ),
      )
      .map(([f, change]) => json(clean.without(f).append(change(f), clean.entries.find(([k]) => k === f)?.[1] ?? 1), 'odd-key')),
    fc
      .tuple(
        fc.nat(Math.max(0, serialized.length - 1)),
        fc.constantFrom(
          (s: string, i: number) => s.slice(0, i),
          (s: string) => s.replace(/}$/, ',}'),
          (s: string) => s.replace(/"/g, "'"),
          (s: string) => s.replace(/"([a-z_]+)":/, '$1:'),
          (s: string) => `${s}x`,
          (s: string) => `${s}${s}`,
          (s: string) => `/*c*/${s}`,
          (s: string) => s.replace(/"([^"]*)"$/, '"\u0001$1"').replace(/:"/, ':"\u0001'),
          (s: string) => s.replace(/:/, '::'),
          (s: string) => `{${s}`,
          () => '{',
          () => '}',
          () => '\u0000',
        ),
      )
      .map(([i, change]) => ({ body: { kind: 'text', text: change(serialized, i) }, tags: ['malformed-json'] }) as Mutated),
    fc.constantFrom(...ROOT_NOT_OBJECT).map((t) => ({ body: { kind: 'text', text: t }, tags: ['root-not-object'] }) as Mutated),
    // A BOM first: some parsers skip it, some refuse; neither may be a 500.
    fc.constant<Mutated>({ body: { kind: 'text', text: `\ufeff${serialized}` }, tags: ['malformed-json'] }),
    // An empty or blank body: no body at all.
    fc.constantFrom('', '   ', '\n').map((t) => ({ body: { kind: 'text', text: t }, tags: ['empty-body'] }) as Mutated),
    fc
      .tuple(fc.constantFrom<string | null>(...CONTENT_TYPES, null), fc.boolean())
      .map(([ct, form]) => ({
        body: { kind: 'text', text: form ? 'name=x&age=1&gender=male' : serialized, contentType: ct },
        tags: ['content-type'],
      }) as Mutated),
    fc
      .tuple(field, fc.constantFrom('\xff', '\xc0\xaf', '\xed\xa0\x80', '\xf4\x90\x80\x80', '\xfe\xff', '\x80'))
      .map(([f, bytes]) => {
        const utf8AsLatin1 = Buffer.from(toJson(clean.with(f, 'MARK')), 'utf8').toString('latin1');
        return { body: { kind: 'text', text: utf8AsLatin1.replace('MARK', `a${bytes}b`), latin1: true }, tags: ['invalid-utf8'] } as Mutated;
      }),
    ...(schema?.properties?.email ? [fc.constantFrom(...ODD_EMAILS).map((e) => json(clean.with('email', e), 'odd-email'))] : []),
    fc
      .tuple(field, fc.constantFrom(102_400, 110_000, 500_000), fc.boolean())
      .map(([f, n, blank]) => ({
        body: blank ? { kind: 'text', text: `${' '.repeat(n)}${serialized}` } : { kind: 'json', value: clean.with(f, 'x'.repeat(n)) },
        tags: ['huge-body'],
      }) as Mutated),
  );
}

function bodyFor(op: Operation): fc.Arbitrary<{ body: BodySpec; tags: string[]; expect: Expectation | null }> {
  if (!op.body) {
    return fc.oneof(
      { weight: 19, arbitrary: fc.constant({ body: { kind: 'none' } as BodySpec, tags: [] as string[], expect: 'ok' as Expectation | null }) },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom<BodySpec>(
            { kind: 'json', value: new Obj([['a', 1]]) },
            { kind: 'text', text: '{"a":' },
            { kind: 'text', text: 'x', contentType: 'text/plain' },
          )
          .map((body) => ({ body, tags: ['body-on-bodyless'], expect: null })),
      },
    );
  }
  return cleanBody(op).chain((clean) => {
    // A mutated login never names the fuzzing user: a failed login for it would count towards a lockout.
    const base = op.id === 'authLogin' ? clean.value.with('username', 'fz_nobody') : clean.value;
    return fc.oneof(
      { weight: 2, arbitrary: fc.constant({ body: { kind: 'json', value: clean.value } as BodySpec, tags: [] as string[], expect: clean.expect }) },
      { weight: 3, arbitrary: mutateBody(op, base).map((m) => ({ ...m, expect: null })) },
    );
  });
}

// ---------------------------------------------------------------- requests

const tokenFor = (op: Operation): fc.Arbitrary<TokenKind> =>
  op.secured
    ? fc.oneof(
        { weight: 30, arbitrary: fc.constant<TokenKind>('valid') },
        { weight: 2, arbitrary: fc.constant<TokenKind>('none') },
        { weight: 14, arbitrary: fc.constantFrom(...FORGED_TOKENS) },
      )
    : // A public route ignores the token: mostly none, sometimes anything.
      fc.oneof({ weight: 8, arbitrary: fc.constant<TokenKind>('none') }, { weight: 1, arbitrary: fc.constantFrom<TokenKind>('valid', ...FORGED_TOKENS) });

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Headers a client may add: request ids, proxies, Accept. Values as Node's HTTP client allows. */
const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: fc.constantFrom(...'abc-_.:/<>"\' ,;=%é'), maxLength: 140 })
      .map((id) => ({ 'x-request-id': id })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Record<string, string>>(
      { 'x-forwarded-for': '10.0.0.1, 203.0.113.9' },
      { 'x-forwarded-host': 'evil.example' },
      { 'x-forwarded-proto': 'https' },
      { accept: 'application/xml' },
      { accept: 'text/html' },
      { 'x-http-method-override': 'DELETE' },
      { cookie: 'session=abc' },
    ),
  },
);

/** A request for one operation: mostly valid, often mutated in one place. `all` tells which methods its path lacks. */
export function requestFor(op: Operation, all: Operation[]): fc.Arbitrary<RequestSpec> {
  const lacking = METHODS.filter((m) => !all.some((o) => o.path === op.path && o.method === m));
  const as = op.admin ? fc.constantFrom<'user' | 'admin'>('admin', 'admin', 'user') : fc.constant<'user' | 'admin'>('user');
  const id = op.path.includes('{id}') ? pathId(op) : fc.constant<IdChoice | undefined>(undefined);
  const method = fc.oneof(
    { weight: 30, arbitrary: fc.constant<[string, string[]]>([op.method, []]) },
    { weight: 1, arbitrary: fc.constantFrom(...lacking).map((m): [string, string[]] => [m, ['wrong-method']]) },
  );
  const oddPath = fc.oneof(
    { weight: 40, arbitrary: fc.constant<((p: string) => string) | undefined>(undefined) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<(p: string) => string>(
        (p) => p.replace('/api/', '/api//'),
        (p) => p.replace('/api/', '/api/./'),
        (p) => p.replace('/api/', '/API/'),
        (p) => p.replace(/\/([^/]+)$/, '%2F$1'),
        (p) => `${p};jsessionid=x`,
        (p) => `${p}/..%2F`,
        (p) => `${p}//`,
        (p) => `${p}.json`,
      ),
    },
  );
  return fc
    .record({ as, token: tokenFor(op), id, query: queryFor(op), body: bodyFor(op), slash: fc.boolean(), method, headers: extraHeaders, oddPath })
    .map((r) => {
      const base = `${op.path.replace('{id}', r.id?.value ?? '')}${r.slash ? '/' : ''}`;
      const path = r.oddPath ? r.oddPath(base) : base;
      const tags = [...(r.id?.tags ?? []), ...r.query.tags, ...r.body.tags, ...r.method[1], ...(r.oddPath ? ['odd-path'] : [])];
      if (Object.keys(r.headers).length > 0) tags.push('odd-header');
      const benign = (t: string) => t === 'odd-header' || t === 'uuid-case';
      const unmutated = tags.every(benign);
      const clean = unmutated && (r.token === 'valid' || (!op.secured && r.token === 'none'));
      // Clean but for values the server must refuse: 400 on those fields once the guards let it in.
      const invalid = r.query.invalid ?? [];
      const onlyInvalid = !unmutated && invalid.length > 0 && tags.every((t) => benign(t) || INVALID_VALUE_TAGS.includes(t));
      let expect: Expectation | undefined;
      // Nothing wrong but the token: exactly 401, whatever else the request names.
      if ((unmutated || onlyInvalid) && op.secured && r.token !== 'valid') expect = 'unauthorized';
      if (onlyInvalid && r.token === 'valid') {
        if (op.admin && r.as === 'user') expect = 'forbidden';
        // An id the caller may not see may be answered 404 before the query is read.
        else if ((r.id ? r.id.expect : 'ok') === 'ok' && r.body.expect === 'ok') expect = 'invalid';
      }
      if (clean) {
        // The most specific answer wins: another's record (404/403) or bad credentials (401) over success.
        if (op.admin && r.as === 'user') expect = 'forbidden';
        else {
          const parts = [r.id ? r.id.expect : 'ok', r.body.expect];
          expect = parts.includes(null) ? undefined : ((parts.find((e) => e !== 'ok') as Expectation | undefined) ?? 'ok');
        }
      }
      return {
        op: op.id,
        method: r.method[0],
        as: r.as,
        token: r.token,
        path,
        query: r.query.pairs.join('&'),
        body: r.body.body,
        headers: r.headers,
        expect,
        tags,
        ...(expect === 'invalid' ? { invalid } : {}),
      };
    });
}

/** Any operation, or (one time in ten) a next/previous link collected from earlier answers. */
export function anyRequest(ops: Operation[]): fc.Arbitrary<RequestSpec> {
  const lists = ops.filter((o) => o.method === 'GET' && o.params.some((p) => p.name === 'cursor'));
  return fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom(...ops).chain((op) => requestFor(op, ops)) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom(...lists), fc.nat(200), fc.constantFrom<'user' | 'admin'>('user', 'admin')).map(
        ([op, n, as]): RequestSpec => ({
          op: op.id,
          method: 'GET',
          as,
          token: 'valid',
          path: op.path,
          query: '',
          body: { kind: 'none' },
          headers: {},
          tags: ['follow-link'],
          follow: n,
        }),
      ),
    },
  );
}
