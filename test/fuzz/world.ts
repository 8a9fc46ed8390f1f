import { createHash, randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { decodeJwt } from 'jose';
import type { TestApp } from '../utils/app.js';
import type { HttpResponse } from '../utils/http.js';
import { createAdmin, createDoctor, createPatient, createUser, PASSWORD, type TestUser } from '../utils/factories.js';
import { JSON_BOUND_DETAIL, parseJsonBoundTag } from './classes.js';
import { toJson } from './json.js';
import { type Api, describeErrors, type Operation } from './openapi.js';
import type { RequestSpec } from './requests.js';
import { authorization, forgedRefresh } from './tokens.js';

export const API_CSP = "default-src 'none'; frame-ancestors 'none'";
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const PROBLEM_TYPE = /^application\/problem\+json(;\s*charset=utf-8)?$/i;
const JSON_TYPE = /^application\/json(;\s*charset=utf-8)?$/i;
/** Pools of ids grow with the records the fuzzer creates; older ones drop out. */
const POOL_CAP = 40;
const LINK_CAP = 200;
const REQUEST_TIMEOUT_MS = 15_000;

/** The details of the validation pipe's answers (src/common/validation.ts), which runs after the guards. */
const VALIDATION_DETAIL = /^(The request is invalid; see errors for each field\.|Unknown field\(s\): )/;
/** Operations whose clean request needs a secret the fuzzer cannot make up: the current TOTP code. */
const NEEDS_SECRET = new Set(['mfaConfirm', 'mfaDisable']);

const KNOWN_OPERATIONS = [
  'authRefresh',
  'authLogout',
  'authLogoutAll',
  'authChangePassword',
  'authLogin',
  'authRegister',
  'patientsCreate',
  'patientsRemove',
  'doctorsCreate',
  'doctorsRemove',
  'mappingsCreate',
  'mappingsRemove',
];

/** A request as sent. */
export interface Concrete {
  opId: string;
  method: string;
  /** Path and query, percent-encoded. */
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** The id in the path, resolved. */
  target?: string;
  /** What the request itself says (path, query, body): a secret echoed from here is not a leak. */
  echo: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
  json?: unknown;
  ms: number;
  /** A network failure or a timeout instead of an answer. */
  error?: string;
}

export interface Account {
  id: string;
  username: string;
  email: string;
  password: string;
  access: string;
  refresh: string;
}

/** Keep-alive, so 10,000 requests do not open 10,000 connections. */
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/** Sends through node:http, which (unlike fetch) sends any bytes, any Content-Type or none. */
export function send(baseUrl: string, c: Pick<Concrete, 'method' | 'url' | 'headers' | 'body'>): Promise<Answer> {
  const url = new URL(baseUrl);
  const started = performance.now();
  return new Promise((resolve) => {
    const headers = { ...c.headers };
    if (c.body) headers['content-length'] = String(c.body.length);
    let req: ReturnType<typeof httpRequest>;
    try {
      req = httpRequest({ host: url.hostname, port: url.port, method: c.method, path: c.url, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const flat: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
          }
          let json: unknown;
          if (text && /json/.test(flat['content-type'] ?? '')) {
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
          }
          resolve({ status: res.statusCode ?? 0, headers: flat, text, json, ms: performance.now() - started });
        });
        res.on('error', (error) => resolve({ status: 0, headers: {}, text: '', ms: performance.now() - started, error: String(error) }));
      });
    } catch (error) {
      // Node's client refuses some paths and header values before sending: not the server's doing.
      resolve({ status: -1, headers: {}, text: '', ms: 0, error: `client refused: ${String(error)}` });
      return;
    }
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (error) => resolve({ status: 0, headers: {}, text: '', ms: performance.now() - started, error: String(error) }));
    req.end(c.body);
  });
}

export interface Violation {
  messages: string[];
  spec: RequestSpec;
  request: Concrete;
  answer: Answer;
}

/** Figures for the end-of-run report. */
export class Stats {
  readonly started = Date.now();
  requests = 0;
  harness = 0;
  relogins = 0;
  serverErrors = 0;
  schemaViolations = 0;
  readonly byStatus = new Map<number, number>();
  readonly byOp = new Map<string, Map<number, number>>();
  readonly undocumented = new Map<string, number>();
  readonly tags = new Map<string, number>();
  readonly tokens = new Map<string, number>();
  readonly headerStatuses = new Set<number>();
  slowest: { ms: number; label: string } = { ms: 0, label: '' };
  readonly violations: (Violation & { where: string })[] = [];

  count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  record(spec: RequestSpec, c: Concrete, a: Answer): void {
    this.requests++;
    this.byStatus.set(a.status, (this.byStatus.get(a.status) ?? 0) + 1);
    const perOp = this.byOp.get(c.opId) ?? new Map<number, number>();
    perOp.set(a.status, (perOp.get(a.status) ?? 0) + 1);
    this.byOp.set(c.opId, perOp);
    for (const tag of spec.tags) this.count(this.tags, tag);
    this.count(this.tokens, spec.token);
    if (a.status >= 500) this.serverErrors++;
    if (a.ms > this.slowest.ms) {
      this.slowest = { ms: a.ms, label: `${c.method} ${c.url.slice(0, 120)} -> ${a.status} [${spec.tags.join(',') || 'clean'}]` };
    }
  }

  /** Violation messages with ids and numbers blanked, counted: what kinds of trouble, how often. */
  violationKinds(): Map<string, number> {
    const kinds = new Map<string, number>();
    for (const v of this.violations) for (const m of v.messages) this.count(kinds, kindOf(m));
    return kinds;
  }

  /** The first violation of each kind, for the report. */
  examples(limit: number): (Violation & { where: string })[] {
    const seen = new Set<string>();
    return this.violations
      .filter((v) => {
        const kind = kindOf(v.messages[0]);
        if (seen.has(kind)) return false;
        seen.add(kind);
        return true;
      })
      .slice(0, limit);
  }

  report(seed: number, extra: string[] = []): string {
    const seconds = (Date.now() - this.started) / 1000;
    const byCount = <K>(m: Map<K, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
    const list = (m: Map<string, number>, sep = ', ', x = ' x') => byCount(m).map(([k, n]) => `${k}${x}${n}`).join(sep) || 'none';
    const statuses = (m: Map<number, number>) => [...m.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(', ');
    const perOp = [...this.byOp.entries()].sort().map(([op, m]) => `${op} {${statuses(m)}}`);
    const rate = (this.requests / seconds).toFixed(0);
    return [
      '',
      '=== fuzz figures',
      `seed ${seed}; ${this.requests} requests checked in ${seconds.toFixed(1)} s (${rate}/s), +${this.harness} set-up and bookkeeping requests, ${this.relogins} re-logins`,
      `by status: ${statuses(this.byStatus)}`,
      `5xx seen: ${this.serverErrors}; schema violations: ${this.schemaViolations}; all violations: ${this.violations.length}`,
      `slowest: ${this.slowest.ms.toFixed(0)} ms, ${this.slowest.label}`,
      `headers checked on statuses: ${[...this.headerStatuses].sort((a, b) => a - b).join(', ')}`,
      `tokens: ${list(this.tokens, ', ', ' ')}`,
      `mutations: ${list(this.tags, ', ', ' ')}`,
      `per operation: ${perOp.join('; ')}`,
      `statuses openapi.json does not list for the operation (not failures): ${list(this.undocumented)}`,
      `violations by kind: ${list(this.violationKinds(), '; ')}`,
      ...extra,
      '',
    ].join('\n');
  }
}

/** Mutations whose refusal may come before the body is parsed (the router, the query check, the URL). */
const EARLIER_REFUSALS = ['wrong-method', 'odd-path', 'many-params', 'unsafe-query', 'bad-escape', 'bad-url', 'long-param'];

/** The `errors` of a problem answer (field -> messages), or none. */
function errorsOf(a: Answer): Record<string, unknown> {
  const errors = (a.json as { errors?: unknown } | undefined)?.errors;
  return errors && typeof errors === 'object' ? (errors as Record<string, unknown>) : {};
}

/** A violation message with ids and numbers blanked: its kind. */
const kindOf = (message: string) =>
  message
    .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>')
    .replace(/\d+/g, '#')
    .slice(0, 120);

const truncate = (s: string, n = 600) => (s.length > n ? `${s.slice(0, n)}... (${s.length} chars)` : s);

/** A failing request, as a reader can replay it (and as fast-check can: seed and path). */
export function describeViolation(v: Violation & { where: string }): string {
  const raw = v.request.body;
  // As UTF-8 when it is; byte for byte (latin1) when the fuzzer sent invalid UTF-8.
  const text = raw && (raw.equals(Buffer.from(raw.toString('utf8'), 'utf8')) ? raw.toString('utf8') : `(latin1) ${raw.toString('latin1')}`);
  const body = text ? truncate(text, 400) : '';
  return [
    `--- ${v.where}: ${v.messages.join(' | ')}`,
    `request: ${v.request.method} ${truncate(v.request.url, 300)}`,
    `  headers: ${JSON.stringify(v.request.headers, (k, val: string) => (k === 'authorization' ? truncate(val, 60) : val))}`,
    body ? `  body: ${JSON.stringify(body)}` : '  body: (none)',
    `  generated as: op=${v.spec.op} as=${v.spec.as} token=${v.spec.token} tags=[${v.spec.tags.join(',')}] expect=${v.spec.expect ?? '-'}`,
    `answer: ${v.answer.status}${v.answer.error ? ` (${v.answer.error})` : ''} in ${v.answer.ms.toFixed(0)} ms`,
    `  headers: ${JSON.stringify(v.answer.headers)}`,
    `  body: ${truncate(v.answer.text, 800)}`,
  ].join('\n');
}

/**
 * The fuzzing world: a fuzzing user (whose records the fuzzer may change),
 * a victim (patients, doctors, mappings with unique markers, which the
 * fuzzing user must never see or change), an admin (for the admin
 * operations) and a bystander (the only account the admin changes).
 */
export class World {
  fuzz!: Account & { staleRefresh: string; loggedOutAccess: string; loggedOutRefresh: string };
  admin!: Account;
  victim!: Account & { patients: { id: string; marker: string }[]; doctors: string[]; mappings: string[] };
  bystander!: TestUser;
  victimSession!: string;
  readonly pools = new Map<string, string[]>();
  readonly links = { user: [] as string[], admin: [] as string[] };
  readonly cursors: string[] = [];
  /** Cursors by who was issued them and for which list: `${principal} ${operationId}` (issue 11, item 6). */
  readonly cursorsBy = new Map<string, string[]>();
  /** A second admin, whose cursors are foreign to the first. */
  otherAdmin!: Account;
  /** Strings the fuzzing user must never read, unless its own request carried them. */
  secrets: string[] = [];
  readonly stats = new Stats();

  constructor(
    readonly t: TestApp,
    readonly api: Api,
  ) {
    // The operations whose meaning the fuzzer knows (which ones end a session, create a record...).
    const missing = KNOWN_OPERATIONS.filter((id) => !api.byId.has(id));
    if (missing.length > 0) throw new Error(`openapi.json no longer has ${missing.join(', ')}: update test/fuzz`);
  }

  private pool(name: string): string[] {
    let pool = this.pools.get(name);
    if (!pool) {
      pool = [];
      this.pools.set(name, pool);
    }
    return pool;
  }

  private add(name: string, id: string): void {
    const pool = this.pool(name);
    if (!pool.includes(id)) pool.push(id);
    if (pool.length > POOL_CAP) pool.shift();
  }

  async seed(): Promise<void> {
    const http = this.t.http;
    const account = (u: TestUser): Account => ({ ...u, password: PASSWORD });

    const victim = account(await createUser(http));
    const patients: { id: string; marker: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const marker = `zqv${randomUUID().replaceAll('-', '').slice(0, 16)}`;
      const p = await createPatient(http, victim.access, { name: `Victim ${marker}`, address: `${marker}x Secret Lane` });
      patients.push({ id: p.id, marker });
    }
    const doctors = [await createDoctor(http, victim.access), await createDoctor(http, victim.access)];
    const mappings: string[] = [];
    for (const [p, d] of [
      [0, 0],
      [0, 1],
      [1, 0],
    ]) {
      const res = await http.post('/api/mappings/', { patient: patients[p].id, doctor: doctors[d].id }, { token: victim.access });
      if (res.status !== 201) throw new Error(`victim mapping: ${res.status} ${res.text}`);
      mappings.push(res.body.id);
    }
    this.victim = { ...victim, patients, doctors: doctors.map((d) => d.id), mappings };
    this.victimSession = String((decodeJwt(victim.access) as { sid?: string }).sid);

    this.admin = { ...(await createAdmin(this.t)), password: PASSWORD };
    this.bystander = await createUser(http);

    const fuzz = account(await createUser(http));
    // A second session, logged out: its access token must stop working.
    const second = await http.post('/api/auth/login/', { username: fuzz.username, password: fuzz.password });
    const out = await http.post('/api/auth/logout/', { refresh: second.body.refresh });
    if (out.status !== 204) throw new Error(`logout: ${out.status} ${out.text}`);
    this.fuzz = { ...fuzz, staleRefresh: '', loggedOutAccess: second.body.access, loggedOutRefresh: second.body.refresh };
    await this.rotate();

    for (let i = 0; i < 3; i++) this.add('ownPatient', (await createPatient(http, this.fuzz.access)).id);
    for (let i = 0; i < 2; i++) this.add('ownDoctor', (await createDoctor(http, this.fuzz.access)).id);
    for (const doctor of [this.pool('ownDoctor')[0], this.victim.doctors[0]]) {
      const res = await http.post('/api/mappings/', { patient: this.pool('ownPatient')[0], doctor }, { token: this.fuzz.access });
      if (res.status !== 201) throw new Error(`fuzz mapping: ${res.status} ${res.text}`);
      this.add('ownMapping', res.body.id);
    }
    this.otherAdmin = { ...(await createAdmin(this.t)), password: PASSWORD };
    await this.seedCursors(patients[0].id);
    for (const p of patients) this.add('victimPatient', p.id);
    for (const d of this.victim.doctors) this.add('victimDoctor', d);
    for (const m of mappings) this.add('victimMapping', m);

    // The victim's doctors are not among them: doctors are a directory every user reads.
    this.secrets = [
      this.victim.id,
      this.victim.username,
      this.victim.email,
      ...patients.flatMap((p) => [p.id, p.marker]),
      ...mappings,
      this.admin.id,
      this.admin.username,
      this.admin.email,
      this.bystander.id,
      this.bystander.username,
      this.bystander.email,
    ];
    this.stats.harness += 30;
  }

  /**
   * A first-page cursor of every list for each principal that can read it,
   * so a request can carry one issued to someone else: the victim's (user
   * lists), the fuzzing user's, the admin's and a second admin's.
   */
  private async seedCursors(victimPatient: string): Promise<void> {
    const lists: [string, string, ('victim' | 'fuzz' | 'admin' | 'otherAdmin')[]][] = [
      ['patientsList', '/api/patients/', ['victim', 'fuzz']],
      ['doctorsList', '/api/doctors/', ['victim', 'fuzz', 'admin', 'otherAdmin']],
      ['mappingsList', '/api/mappings/', ['victim', 'fuzz']],
      ['mappingsDoctorsOf', `/api/mappings/${victimPatient}/`, ['victim']],
      ['mappingsDoctorsOf', `/api/mappings/${this.pool('ownPatient')[0]}/`, ['fuzz']],
      ['adminPatientsList', '/api/admin/patients/', ['admin', 'otherAdmin']],
      ['adminUsersList', '/api/admin/users/', ['admin', 'otherAdmin']],
      ['adminMappingsList', '/api/admin/mappings/', ['admin', 'otherAdmin']],
      ['adminAuditList', '/api/admin/audit-events/', ['admin', 'otherAdmin']],
    ];
    const tokens = { victim: this.victim.access, fuzz: this.fuzz.access, admin: this.admin.access, otherAdmin: this.otherAdmin.access };
    for (const [opId, path, who] of lists) {
      for (const principal of who) {
        const res = await this.t.http.get(`${path}?page_size=1`, { token: tokens[principal] });
        this.stats.harness++;
        const next = res.status === 200 && typeof res.body?.next === 'string' ? new URL(res.body.next).searchParams.get('cursor') : null;
        if (!next) throw new Error(`no second page of ${path} for ${principal}: ${res.status} ${res.text.slice(0, 200)}`);
        this.addCursor(principal, opId, next);
      }
    }
  }

  private addCursor(principal: string, opId: string, cursor: string): void {
    const key = `${principal} ${opId}`;
    const list = this.cursorsBy.get(key) ?? [];
    if (!list.includes(cursor)) list.push(cursor);
    if (list.length > 20) list.shift();
    this.cursorsBy.set(key, list);
  }

  /** A cursor someone other than the sender was issued, for the same list when there is one. */
  foreignCursor(spec: RequestSpec, opId: string, i: number): string {
    const me = spec.as === 'admin' && spec.token === 'valid' ? 'admin' : 'fuzz';
    const theirs = [...this.cursorsBy.entries()].filter(([key]) => !key.startsWith(`${me} `));
    const sameList = theirs.filter(([key]) => key.endsWith(` ${opId}`));
    const pool = (sameList.length > 0 ? sameList : theirs).flatMap(([, cursors]) => cursors);
    return pool[i % pool.length];
  }

  /**
   * The harness's own auth calls: a 429 (throttling left on, FUZZ_THROTTLE=1)
   * is waited out as its Retry-After says, up to three times.
   */
  async patiently(path: string, body: unknown): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      const res = await this.t.http.post(path, body);
      this.stats.harness++;
      if (res.status !== 429 || attempt >= 3) return res;
      const wait = Math.min(Number(res.headers.get('retry-after') ?? '5') || 5, 65);
      await new Promise((r) => setTimeout(r, wait * 1000));
    }
  }

  /** Refreshes once, so the session has a used (stale) refresh token to replay. */
  private async rotate(): Promise<void> {
    const res = await this.patiently('/api/auth/refresh/', { refresh: this.fuzz.refresh });
    if (res.status !== 200) throw new Error(`refresh: ${res.status} ${res.text}`);
    this.fuzz.staleRefresh = this.fuzz.refresh;
    this.fuzz.access = res.body.access;
    this.fuzz.refresh = res.body.refresh;
  }

  /** A new session for the fuzzing user, after a request ended the old one (logout, password change...). */
  async relogin(): Promise<void> {
    const res = await this.patiently('/api/auth/login/', { username: this.fuzz.username, password: this.fuzz.password });
    if (res.status !== 200) throw new Error(`re-login of the fuzzing user failed: ${res.status} ${res.text}`);
    this.fuzz.access = res.body.access;
    this.fuzz.refresh = res.body.refresh;
    this.stats.relogins++;
    await this.rotate();
  }

  private async sessionAlive(): Promise<boolean> {
    const res = await this.t.http.get('/api/auth/me/', { token: this.fuzz.access });
    this.stats.harness++;
    return res.status === 200;
  }

  /** Resolves a generated request against the world as it is now. */
  async resolve(spec: RequestSpec): Promise<Concrete> {
    let opId = spec.op;
    let url: string;
    if (spec.follow !== undefined) {
      const links = this.links[spec.as];
      if (links.length > 0) {
        const link = new URL(links[spec.follow % links.length]);
        url = `${link.pathname}${link.search}`;
        opId = this.operationOf('GET', link.pathname)?.id ?? spec.op;
      } else url = spec.path;
    } else {
      url = spec.query ? `${spec.path}?${spec.query}` : spec.path;
    }
    let bodyText: string | undefined;
    let latin1 = false;
    let contentType: string | null | undefined;
    if (spec.body.kind === 'json') {
      bodyText = toJson(spec.body.value);
      contentType = spec.body.contentType === undefined ? 'application/json' : spec.body.contentType;
    } else if (spec.body.kind === 'text') {
      bodyText = spec.body.text;
      latin1 = spec.body.latin1 === true;
      contentType = spec.body.contentType === undefined ? 'application/json' : spec.body.contentType;
    }
    const values = new Map<string, string>();
    const wanted = `${url} ${bodyText ?? ''}`.match(/@@[^@\s"]{1,60}@@/g) ?? [];
    for (const placeholder of new Set(wanted)) {
      const name = placeholder.slice(2, -2);
      const foreign = /^foreignCursor\.(\d+)$/.exec(name);
      values.set(placeholder, foreign ? this.foreignCursor(spec, opId, Number(foreign[1])) : await this.value(name));
    }
    const fill = (s: string) => s.replace(/@@[^@\s"]{1,60}@@/g, (p) => values.get(p) ?? p);
    url = fill(url);
    const target = spec.path.includes('@@') ? fill(spec.path).split('/').filter(Boolean).pop() : undefined;
    const headers: Record<string, string> = { ...spec.headers };
    const auth = await authorization(spec.token, {
      access: spec.as === 'admin' && spec.token === 'valid' ? this.admin.access : this.fuzz.access,
      refresh: this.fuzz.refresh,
      loggedOutAccess: this.fuzz.loggedOutAccess,
      otherUserId: this.victim.id,
      otherSessionId: this.victimSession,
    });
    if (auth !== undefined) headers.authorization = auth;
    let body: Buffer | undefined;
    if (bodyText !== undefined) {
      bodyText = fill(bodyText);
      body = Buffer.from(bodyText, latin1 ? 'latin1' : 'utf8');
      if (contentType !== null && contentType !== undefined) headers['content-type'] = contentType;
    }
    return { opId, method: spec.method, url, headers, body, target, echo: `${url}\n${bodyText ?? ''}` };
  }

  /** The value of one placeholder: pool.N, a name, upper:pool.N, forgedRefresh:kind. */
  private async value(name: string): Promise<string> {
    if (name.startsWith('upper:')) return (await this.value(name.slice(6))).toUpperCase();
    if (name.startsWith('forgedRefresh:')) return forgedRefresh(name.slice(14), this.fuzz.refresh, this.victim.id);
    const [base, index] = name.split('.');
    const i = Number(index ?? 0);
    switch (base) {
      case 'fuzzUser':
        return this.fuzz.id;
      case 'victimUser':
        return this.victim.id;
      case 'adminUser':
        return this.admin.id;
      case 'bystanderUser':
        return this.bystander.id;
      case 'fuzzUsername':
        return this.fuzz.username;
      case 'victimUsername':
        return this.victim.username;
      case 'fuzzPassword':
        return this.fuzz.password;
      case 'refresh':
        return this.fuzz.refresh;
      case 'staleRefresh':
        return this.fuzz.staleRefresh;
      case 'loggedOutRefresh':
        return this.fuzz.loggedOutRefresh;
      case 'access':
        return this.fuzz.access;
      case 'victimMarker':
        return this.victim.patients[i % this.victim.patients.length].marker;
      case 'cursor':
        return this.cursors.length ? this.cursors[i % this.cursors.length] : 'AAAA';
      case 'cursorFlip': {
        const c = this.cursors.length ? this.cursors[i % this.cursors.length] : 'AAAAAAAA';
        const at = i % c.length;
        return `${c.slice(0, at)}${c[at] === 'A' ? 'B' : 'A'}${c.slice(at + 1)}`;
      }
      default: {
        const pool = this.pool(base);
        // An empty pool (every record deleted): a well-formed id that names nothing.
        return pool.length ? pool[i % pool.length] : '5b0c6e1e-0000-4000-8000-000000000000';
      }
    }
  }

  private operationOf(method: string, path: string): Operation | undefined {
    const trimmed = path.replace(/\/+$/, '');
    return this.api.operations.find(
      (o) => o.method === method && new RegExp(`^${o.path.replace('{id}', '[^/]+')}$`).test(trimmed),
    );
  }

  /** Every rule an answer must keep; returns what it broke. */
  check(spec: RequestSpec, c: Concrete, a: Answer): string[] {
    const out: string[] = [];
    const op = this.api.byId.get(c.opId);
    if (!op) return [`unknown operation ${c.opId}`];
    if (a.error) return a.status === -1 ? [] : [`no answer: ${a.error}`];
    const wrongMethod = spec.tags.includes('wrong-method');
    // A path the router does not know (its own 404 or 405, before any guard).
    const offRoute = wrongMethod || spec.tags.includes('odd-path');

    // The status line.
    if (a.status >= 500) out.push(`${a.status}: a server error`);
    else if (a.status < 200 || (a.status >= 300 && a.status < 400)) out.push(`unexpected status ${a.status}`);

    // The body against openapi.json.
    const documented = op.responses.get(a.status);
    const contentType = a.headers['content-type'] ?? '';
    if (a.status >= 400) {
      if (!PROBLEM_TYPE.test(contentType)) out.push(`a ${a.status} that is not application/problem+json (${contentType || 'no Content-Type'})`);
      if (!this.api.problem(a.json)) {
        this.stats.schemaViolations++;
        out.push(`problem body breaks ProblemDto: ${describeErrors(this.api.problem.errors)}`);
      } else if ((a.json as { status: number }).status !== a.status) out.push(`problem status ${(a.json as { status: number }).status} != ${a.status}`);
      if (!documented && a.status < 500 && !offRoute && a.status !== 429) this.stats.count(this.stats.undocumented, `${c.opId} ${a.status}`);
    } else if (a.status >= 200 && a.status < 300 && !offRoute) {
      if (!documented) {
        this.stats.schemaViolations++;
        out.push(`status ${a.status} is not documented for ${c.opId}`);
      } else if (!documented.validate) {
        if (a.text !== '') out.push(`a ${a.status} with a body where none is documented`);
      } else if (!JSON_TYPE.test(contentType)) {
        out.push(`a ${a.status} with Content-Type ${contentType || '(none)'}`);
      } else if (!documented.validate(a.json)) {
        this.stats.schemaViolations++;
        out.push(`body breaks the ${a.status} schema of ${c.opId}: ${describeErrors(documented.validate.errors)}`);
      }
    }

    // Headers, on every answer.
    this.stats.headerStatuses.add(a.status);
    const h = a.headers;
    if (h['cache-control'] !== 'no-store') out.push(`Cache-Control ${h['cache-control'] ?? '(none)'}`);
    if (h['x-content-type-options'] !== 'nosniff') out.push(`X-Content-Type-Options ${h['x-content-type-options'] ?? '(none)'}`);
    if (h['content-security-policy'] !== API_CSP) out.push(`Content-Security-Policy ${h['content-security-policy'] ?? '(none)'}`);
    if (h['x-powered-by'] !== undefined) out.push(`X-Powered-By ${h['x-powered-by']}`);
    if (!REQUEST_ID.test(h['x-request-id'] ?? '')) out.push(`X-Request-Id ${JSON.stringify(h['x-request-id'])}`);
    const sentId = spec.headers['x-request-id'];
    // (A 431 is answered on the socket, before the headers are read.)
    if (sentId !== undefined && REQUEST_ID.test(sentId) && a.status !== 431 && h['x-request-id'] !== sentId) out.push('a sane X-Request-Id was not echoed');
    if (a.status === 401 && h['www-authenticate'] !== 'Bearer') out.push(`401 without WWW-Authenticate: Bearer`);
    if (a.status === 405 && !h.allow) out.push('405 without Allow');
    if (a.status === 429 && !h['retry-after']) out.push('429 without Retry-After');

    // Nothing of anyone else's, and never a password hash.
    if (a.text.includes('$argon2')) out.push('a password hash in the body');
    // Only the admin, with its own live token, may read other users' records.
    if (!(spec.as === 'admin' && spec.token === 'valid')) {
      const leaked = this.secrets.filter((s) => a.text.includes(s) && !c.echo.includes(s));
      if (leaked.length > 0) out.push(`another user's data in the body: ${leaked.join(', ')}`);
    }

    // Authentication and roles. Before the guards, the HTTP layer may refuse a
    // request on its own (400 without field errors, 413, 414, 415, 431; 404/405 for
    // a method the path lacks); after them, any other answer means a forged
    // token or a non-admin got through.
    const early = [413, 414, 415, 431, ...(offRoute ? [404, 405] : [])];
    const problem = a.json as { errors?: unknown; detail?: unknown } | undefined;
    // The body parser and the query check (depth, size, NUL, lone surrogates) refuse before the guards and name
    // the field in errors as validation does (issue 10); only the validation pipe's own details mean it ran.
    const validationRan =
      a.status === 400 && problem?.errors !== undefined && typeof problem.detail === 'string' && VALIDATION_DETAIL.test(problem.detail);
    const refusedEarly = early.includes(a.status) || (a.status === 400 && !validationRan);
    // A 429 may come first whatever was sent (the throttler runs before the guard).
    if (op.secured && a.status !== 429 && !refusedEarly) {
      if (spec.token !== 'valid') {
        if (a.status !== 401) out.push(`token ${spec.token} got ${a.status}: the guard let it through`);
      } else if (a.status === 401) out.push('a live session was refused (401)');
      else if (op.admin && spec.as === 'user' && !offRoute && a.status !== 403) out.push(`a non-admin on ${op.id} got ${a.status}, not 403`);
    }
    // (With an odd path too, the path may match another route, which may have that method.)
    if (wrongMethod && !spec.tags.includes('odd-path') && ![400, 404, 405, 413, 414, 415, 429, 431].includes(a.status)) {
      out.push(`wrong method: ${a.status}`);
    }

    // Bodies near the JSON shape bounds (issue 11, item 2): past one, a 400 that names it, before anything
    // else reads the body (unless the request was refused earlier for its path or query); within, never refused for it.
    const bound = parseJsonBoundTag(spec.tags);
    if (bound) {
      const detail = typeof problem?.detail === 'string' ? problem.detail : '';
      const namesBound = JSON_BOUND_DETAIL[bound.bound].test(detail);
      const earlier = spec.tags.some((t) => EARLIER_REFUSALS.includes(t)) || [413, 414, 429, 431].includes(a.status);
      if (bound.over && !earlier && !(a.status === 400 && namesBound)) out.push(`a body past the ${bound.bound} bound got ${a.status} (${detail || 'no detail'})`);
      if (!bound.over && Object.values(JSON_BOUND_DETAIL).some((re) => re.test(detail))) out.push(`a body within the bounds was refused for a bound: ${detail}`);
    }
    // An error lists at most 10 unknown fields and says how many more (issue 11, item 2).
    if (a.status === 400 && typeof problem?.detail === 'string' && problem.detail.startsWith('Unknown field(s)')) {
      const known = new Set(Object.keys((op.body?.properties as Record<string, unknown> | undefined) ?? {}));
      const unknown = Object.keys(errorsOf(a)).filter((field) => !known.has(field.split(/[.[]/)[0]));
      if (unknown.length > 10) out.push(`a 400 lists ${unknown.length} unknown fields (at most 10)`);
    }

    // What a clean request must get.
    if (spec.expect && a.status !== 429) {
      const ok =
        spec.expect === 'ok'
          ? (a.status >= 200 && a.status < 300) ||
            a.status === 404 ||
            a.status === 409 ||
            // A one-time code (or the password with it) the fuzzer cannot know: wrong is a 400 on those fields.
            (a.status === 400 && NEEDS_SECRET.has(c.opId))
          : spec.expect === 'invalid'
            ? a.status === 400 && (spec.invalid ?? []).some((field) => Object.hasOwn(errorsOf(a), field))
            : a.status === { hidden: 404, forbidden: 403, unauthorized: 401 }[spec.expect];
      if (!ok) out.push(`a clean request (token ${spec.token}) expecting ${spec.expect} got ${a.status}`);
    }
    return out;
  }

  /** What the world learns from an answer: new ids, links, tokens, a changed password; and whether the session survived. */
  async learn(spec: RequestSpec, c: Concrete, a: Answer): Promise<void> {
    const body = a.json as Record<string, any> | undefined;
    const mine = spec.as === 'user' && spec.token === 'valid';
    if (mine && a.status === 201 && typeof body?.id === 'string') {
      const pool = { patientsCreate: 'ownPatient', doctorsCreate: 'ownDoctor', mappingsCreate: 'ownMapping' }[c.opId];
      if (pool) this.add(pool, body.id);
    }
    if (mine && a.status === 204 && c.target) {
      const pool = { patientsRemove: 'ownPatient', doctorsRemove: 'ownDoctor', mappingsRemove: 'ownMapping' }[c.opId];
      if (pool) this.pools.set(pool, this.pool(pool).filter((id) => id !== c.target));
    }
    if (a.status === 200 && body && 'next' in body && spec.token === 'valid') {
      const links = this.links[spec.as];
      for (const link of [body.next, body.previous]) {
        if (typeof link !== 'string') continue;
        links.push(link);
        if (links.length > LINK_CAP) links.shift();
        const cursor = new URL(link).searchParams.get('cursor');
        if (cursor) {
          this.addCursor(spec.as === 'admin' ? 'admin' : 'fuzz', c.opId, cursor);
          this.cursors.push(cursor);
          if (this.cursors.length > LINK_CAP) this.cursors.shift();
        }
      }
    }
    if (c.opId === 'authRefresh' && a.status === 200 && c.body?.toString('utf8').includes(this.fuzz.refresh)) {
      this.fuzz.staleRefresh = this.fuzz.refresh;
      this.fuzz.access = body!.access;
      this.fuzz.refresh = body!.refresh;
    }
    if (c.opId === 'authChangePassword' && a.status === 204 && mine) {
      // The server took this body as valid JSON; read it as it did (the last of duplicate keys wins).
      const sent = JSON.parse(c.body!.toString('utf8').replace(/^\ufeff/, '')) as { new_password: string };
      this.fuzz.password = sent.new_password;
    }
    if (['authRefresh', 'authLogout', 'authLogoutAll', 'authChangePassword'].includes(c.opId) && !(await this.sessionAlive())) {
      await this.relogin();
    }
    await this.replenish();
  }

  /** Keeps a few records of the fuzzing user's own to aim at. */
  private async replenish(): Promise<void> {
    const http = this.t.http;
    if (this.pool('ownPatient').length < 2) {
      this.add('ownPatient', (await createPatient(http, this.fuzz.access)).id);
      this.stats.harness++;
    }
    if (this.pool('ownDoctor').length < 2) {
      this.add('ownDoctor', (await createDoctor(http, this.fuzz.access)).id);
      this.stats.harness++;
    }
    if (this.pool('ownMapping').length < 1) {
      const res = await http.post(
        '/api/mappings/',
        { patient: this.pool('ownPatient').at(-1), doctor: this.pool('ownDoctor').at(-1) },
        { token: this.fuzz.access },
      );
      this.stats.harness++;
      if (res.status === 201) this.add('ownMapping', res.body.id);
    }
  }

  /** md5 of every row of the victim and the admin (users, sessions, patients, doctors, mappings), read by SQL. */
  async digest(): Promise<{ digest: string; tables: Record<string, string>; counts: Record<string, number> }> {
    const ids = [this.victim.id, this.admin.id];
    const q = (sql: string) => this.t.dataSource.query(sql, ids) as Promise<Record<string, unknown>[]>;
    const rows: Record<string, Record<string, unknown>[]> = {
      users: await q('SELECT id, username, email, password_hash, role, is_active, date_joined FROM users WHERE id IN ($1, $2) ORDER BY id'),
      sessions: await q(
        'SELECT id, user_id, refresh_jti, refresh_expires_at, expires_at, revoked_at, created_at FROM sessions WHERE user_id IN ($1, $2) ORDER BY id',
      ),
      patients: await q('SELECT id, owner_id, name, age, gender, address, created_at, updated_at FROM patients WHERE owner_id IN ($1, $2) ORDER BY id'),
      doctors: await q(
        'SELECT id, name, specialization, email, phone, created_by, created_at, updated_at FROM doctors WHERE created_by IN ($1, $2) ORDER BY id',
      ),
      mappings: await q(
        'SELECT id, patient_id, owner_id, doctor_id, created_at FROM patient_doctor_mappings WHERE owner_id IN ($1, $2) ORDER BY id',
      ),
    };
    const md5 = (value: unknown) => createHash('md5').update(JSON.stringify(value)).digest('hex');
    return {
      digest: md5(rows),
      tables: Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, md5(v)])),
      counts: Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.length])),
    };
  }
}
