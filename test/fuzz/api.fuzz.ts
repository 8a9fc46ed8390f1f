import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createTestApp, type TestApp } from '../utils/app.js';
import { rawRequest, type HttpResponse } from '../utils/http.js';
import { loadApi, type Api, type Operation } from './openapi.js';
import { requestFor, anyRequest, type RequestSpec } from './requests.js';
import { DATE_FORMS, dateValue, JSON_BOUND_CASES, jsonBoundKeyLength, jsonBoundTag } from './classes.js';
import { Obj } from './json.js';
import { FORGED_TOKENS } from './tokens.js';
import { API_CSP, type Answer, describeViolation, send, Stats, World } from './world.js';

/**
 * Issue 5, "Proof under hostile input": every operation of openapi.json,
 * valid and mutated, with live and forged tokens, against the real app. No
 * 5xx, no answer off the document, every 4xx problem+json, nothing of
 * another user's in any body, the other users' rows unchanged, and the
 * security headers on every answer.
 *
 * FUZZ_REQUESTS (default 10000) sizes the generated part; FUZZ_SEED and
 * FUZZ_PATH replay it (each violation prints both).
 */
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const PATH = process.env.FUZZ_PATH;
/** FUZZ_TRACE=1 prints every request and its status. */
const TRACE = process.env.FUZZ_TRACE === '1';
/**
 * The fuzzer is one client sending thousands of requests: rate limits are
 * lifted (THROTTLE_ENABLED=false). FUZZ_THROTTLE=1 keeps them at their
 * production defaults instead, to see the 429s (answers are still checked).
 */
const THROTTLED = process.env.FUZZ_THROTTLE === '1';
const THROTTLE_ENV: Record<string, string> = THROTTLED
  ? { THROTTLE_ENABLED: 'true', AUTH_RATE_LIMIT: '30', USER_RATE_LIMIT: '600', LOGIN_FAILURE_LIMIT: '10', LOGIN_FAILURE_HOURLY_LIMIT: '100' }
  : { THROTTLE_ENABLED: 'false' };

/** The headers every API answer carries (X-Request-Id sane, no X-Powered-By), for the pages outside the generated operations. */
function common(res: HttpResponse) {
  return {
    nosniff: res.headers.get('x-content-type-options'),
    poweredBy: res.headers.get('x-powered-by'),
    requestId: /^[A-Za-z0-9._:-]{1,128}$/.test(res.headers.get('x-request-id') ?? ''),
  };
}
const COMMON = { nosniff: 'nosniff', poweredBy: null, requestId: true };

/** An API problem answer's headers: problem+json, not cached, the API's CSP. */
function problemHeaders(res: HttpResponse) {
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    cache: res.headers.get('cache-control'),
    csp: res.headers.get('content-security-policy'),
    ...common(res),
  };
}
const PROBLEM = { type: expect.stringMatching(/^application\/problem\+json(; charset=utf-8)?$/), cache: 'no-store', csp: API_CSP, ...COMMON };

/** The directives of a page's CSP that make it strict. */
function cspOf(res: HttpResponse) {
  const csp = res.headers.get('content-security-policy') ?? '';
  const directives = Object.fromEntries(
    csp.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name, values.join(' ')];
    }),
  );
  return { default: directives['default-src'], script: directives['script-src'], frame: directives['frame-ancestors'], loose: /unsafe-eval|\*/.test(csp) };
}
const STRICT_PAGE = { default: "'none'", script: "'self'", frame: "'none'", loose: false };

describe('Hostile input: the API under generated requests (fuzz)', () => {
  let t: TestApp;
  let api: Api;
  let world: World;
  let before: Awaited<ReturnType<World['digest']>>;
  const notes: string[] = [];

  beforeAll(async () => {
    t = await createTestApp(THROTTLE_ENV);
    api = loadApi();
    world = new World(t, api);
    await world.seed();
    before = await world.digest();
  }, 120_000);

  afterAll(async () => {
    if (world) {
      const shown = world.stats.examples(20).map(describeViolation);
      const more = world.stats.violations.length - shown.length;
      const tail = more > 0 ? `\n(one example of each kind above; ${more} more violations)\n` : '\n';
      process.stdout.write(`${world.stats.report(SEED, notes)}${shown.join('\n\n')}${tail}`);
    }
    await t?.close();
  });

  /** Sends one request, checks its answer against every rule, learns from it; the answer's status. */
  async function run(spec: RequestSpec, where: string): Promise<number> {
    const c = await world.resolve(spec);
    const a = await send(t.baseUrl, c);
    world.stats.record(spec, c, a);
    const messages = world.check(spec, c, a);
    if (TRACE) {
      process.stdout.write(`${where}: ${c.method} ${c.url.slice(0, 120)} [${spec.token}] -> ${a.status}${messages.length ? ' VIOLATION' : ''}\n`);
    }
    if (messages.length > 0) world.stats.violations.push({ messages, spec, request: c, answer: a, where });
    await world.learn(spec, c, a);
    return a.status;
  }

  /** Fails with the first violations recorded since `from`, each with its request and answer. */
  function expectNoViolations(from: number): void {
    const found = world.stats.violations.slice(from);
    if (found.length > 0) {
      throw new Error(`${found.length} violation(s); the first:\n${found.slice(0, 5).map(describeViolation).join('\n\n')}`);
    }
  }

  /** A clean request for an operation (live token, nothing mutated), drawn from the same generator. */
  function cleanRequest(op: Operation, as: 'user' | 'admin'): RequestSpec {
    const clean = requestFor(op, api.operations).filter(
      (r) => r.tags.length === 0 && r.as === as && r.token === (op.secured ? 'valid' : 'none') && r.expect === 'ok',
    );
    return fc.sample(clean, { numRuns: 1, seed: SEED })[0];
  }

  it('the checks catch what they look for (a 500, a leak, an extra field, a hash, a bare 4xx, a missing header, a forged token let in)', async () => {
    // A copy with figures of its own, so these synthetic answers count nowhere.
    const probe = Object.assign(Object.create(World.prototype) as World, world, { stats: new Stats() });
    const op = api.byId.get('patientsGet')!;
    const spec = { ...cleanRequest(op, 'user'), headers: {} };
    const c = await probe.resolve(spec);
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy': API_CSP,
      'x-request-id': 'abc',
    };
    const at = '2026-01-01T00:00:00.000Z';
    const patient = { id: c.target, name: 'Ann', age: 3, gender: 'other', address: '', version: 1, created_at: at, updated_at: at };
    const answer = (status: number, body: unknown, extra: Record<string, string | undefined> = {}): Answer => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      const h = Object.fromEntries(Object.entries({ ...headers, ...extra }).filter(([, v]) => v !== undefined)) as Record<string, string>;
      return { status, headers: h, text, json: typeof body === 'string' ? undefined : body, ms: 1 };
    };
    const problem = (status: number) => ({ type: 'about:blank', title: 'x', status, detail: 'x' });
    const problemHeaders = { 'content-type': 'application/problem+json' };
    const verdicts = {
      fine: probe.check(spec, c, answer(200, patient)),
      serverError: probe.check(spec, c, answer(500, problem(500), problemHeaders)),
      leak: probe.check(spec, c, answer(200, { ...patient, name: world.victim.patients[0].marker })),
      extraField: probe.check(spec, c, answer(200, { ...patient, owner_id: world.fuzz.id })),
      hash: probe.check(spec, c, answer(200, { ...patient, address: '$argon2id$v=19$m=19456' })),
      bare4xx: probe.check(spec, c, answer(404, 'Not Found', { 'content-type': 'text/plain' })),
      noNosniff: probe.check(spec, c, answer(200, patient, { 'x-content-type-options': undefined })),
      cached: probe.check(spec, c, answer(200, patient, { 'cache-control': 'max-age=60' })),
      forgedLetIn: probe.check({ ...spec, token: 'alg-none', expect: 'unauthorized' }, c, answer(200, patient)),
    };
    expect(Object.fromEntries(Object.entries(verdicts).map(([k, v]) => [k, v.length > 0]))).toEqual({
      fine: false,
      serverError: true,
      leak: true,
      extraField: true,
      hash: true,
      bare4xx: true,
      noNosniff: true,
      cached: true,
      forgedLetIn: true,
    });
  });

  it('covers every operation of openapi.json with a clean request, answered as documented', async () => {
    const from = world.stats.violations.length;
    for (const op of api.operations) {
      await run(cleanRequest(op, op.admin ? 'admin' : 'user'), `clean ${op.id}`);
    }
    expect(api.operations.length).toBeGreaterThan(25);
    expectNoViolations(from);
  }, 120_000);

  it('answers every forged or misused token with 401 on every protected operation, and a non-admin with 403 on admin ones', async () => {
    const from = world.stats.violations.length;
    for (const op of api.operations.filter((o) => o.secured)) {
      const base = cleanRequest(op, op.admin ? 'admin' : 'user');
      for (const token of ['none', ...FORGED_TOKENS] as const) {
        await run({ ...base, token, expect: 'unauthorized' }, `token ${token} on ${op.id}`);
      }
      if (op.admin) await run({ ...base, as: 'user', expect: 'forbidden' }, `non-admin on ${op.id}`);
    }
    expectNoViolations(from);
  }, 300_000);

  describe("issue 11's classes, each case at least once (the generated part below draws them too)", () => {
    it('bodies near and past the JSON shape bounds, on every operation with a body: past one, a 400 naming it; within, never refused for it', async () => {
      const from = world.stats.violations.length;
      const seen = new Map<string, number>();
      for (const op of api.operations.filter((o) => o.body)) {
        const base = cleanRequest(op, op.admin ? 'admin' : 'user');
        const clean = base.body.kind === 'json' && base.body.value instanceof Obj ? base.body.value : new Obj([]);
        for (const c of JSON_BOUND_CASES) {
          const keyLength = fc.sample(jsonBoundKeyLength(c), { numRuns: 1, seed: SEED })[0];
          const tag = jsonBoundTag(c);
          await run({ ...base, body: { kind: 'json', value: c.build(clean, keyLength) }, tags: [tag], expect: undefined }, `${tag} (${c.count}, ${c.layout}) on ${op.id}`);
          seen.set(tag, (seen.get(tag) ?? 0) + 1);
        }
      }
      notes.push(`JSON bounds: ${[...seen.entries()].map(([k, n]) => `${k} x${n}`).join(', ')}`);
      expect(seen.size).toBe(8);
      expectNoViolations(from);
    }, 120_000);

    it('every ISO 8601 form of a date-time parameter: RFC 3339 accepted, the other forms 400 naming the parameter, never a 500', async () => {
      const from = world.stats.violations.length;
      const op = api.byId.get('adminAuditList')!;
      const dateParams = op.params.filter((p) => p.schema.format === 'date-time').map((p) => p.name);
      expect(dateParams.sort()).toEqual(['since', 'until']);
      const base = { ...cleanRequest(op, 'admin'), query: '', headers: {} };
      const outcome = new Map<string, number>();
      for (const [f, form] of DATE_FORMS.entries()) {
        for (const [p, name] of dateParams.entries()) {
          for (const value of fc.sample(dateValue(form), { numRuns: 2, seed: SEED + 2 * f + p })) {
            const spec = {
              ...base,
              query: `${name}=${encodeURIComponent(value)}`,
              tags: form.verdict === 'rfc3339' ? [] : [`iso8601-${form.verdict}`],
              expect: form.verdict === 'rfc3339' ? ('ok' as const) : form.verdict === 'other' ? ('invalid' as const) : undefined,
              invalid: [name],
            };
            const status = await run(spec, `${name}=${value} (${form.form})`);
            const key = `${form.verdict} ${status}`;
            outcome.set(key, (outcome.get(key) ?? 0) + 1);
          }
        }
      }
      const either = DATE_FORMS.filter((f) => f.verdict === 'either').map((f) => f.form);
      notes.push(
        `ISO 8601 date-times: ${DATE_FORMS.length} forms x ${dateParams.length} parameters x 2 values on ${op.id}; verdict and status: ` +
          `${[...outcome.entries()].map(([k, n]) => `${k} x${n}`).join(', ')} ("either": ${either.join(', ')})`,
      );
      expectNoViolations(from);
    }, 120_000);

    it("someone else's cursor (another user, another admin, another role) is a 400 on every list; one's own is served", async () => {
      const from = world.stats.violations.length;
      let foreign = 0;
      let own = 0;
      const lists = api.operations.filter((o) => o.method === 'GET' && o.params.some((p) => p.name === 'cursor'));
      expect(lists.length).toBeGreaterThanOrEqual(8);
      for (const op of lists) {
        for (const as of op.admin ? (['admin'] as const) : (['user', 'admin'] as const)) {
          // (The generator makes a user's operations as 'user' only: the admin sends the same request.)
          const base = { ...cleanRequest(op, op.admin ? 'admin' : 'user'), as, headers: {} };
          for (let i = 0; i < 3; i++) {
            await run({ ...base, query: `cursor=@@foreignCursor.${i * 7}@@`, tags: ['foreign-cursor'], expect: 'invalid', invalid: ['cursor'] }, `foreign cursor ${i} on ${op.id} as ${as}`);
            foreign++;
          }
          const mine = world.cursorsBy.get(`${as === 'admin' ? 'admin' : 'fuzz'} ${op.id}`)?.[0];
          if (mine && op.id !== 'mappingsDoctorsOf') {
            await run({ ...base, query: `cursor=${encodeURIComponent(mine)}`, tags: [], expect: 'ok' }, `own cursor on ${op.id} as ${as}`);
            own++;
          }
        }
      }
      notes.push(`cursors: ${foreign} foreign ones sent (expected 400), ${own} own ones (expected 200)`);
      expect(own).toBeGreaterThanOrEqual(6);
      expectNoViolations(from);
    }, 120_000);
  });

  it(
    PATH ? `replays request ${PATH} of seed ${SEED}` : `survives ${REQUESTS} generated requests: no 5xx, nothing off the document, no leak`,
    async () => {
      const from = world.stats.violations.length;
      const start = PATH ? Number(PATH.split(':')[0]) : 0;
      let index = 0;
      const details = await fc.check(
        fc.asyncProperty(anyRequest(api.operations), async (spec) => {
          const path = start + index++;
          // A violation is recorded, not thrown, so that one run reports them all, each with its seed and path.
          await run(spec, `FUZZ_SEED=${SEED} FUZZ_PATH=${path}`);
        }),
        { seed: SEED, numRuns: PATH ? 1 : REQUESTS, path: PATH, endOnFailure: true },
      );
      if (details.failed) {
        // The harness itself failed (not an answer): fast-check's report names the request.
        const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        const replay = `replay: FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath}`;
        throw new Error(`${fc.defaultReportMessage(details) ?? 'fast-check failed'}\n${cause}\n${replay}`);
      }
      notes.push(`generated part: ${index} requests from seed ${SEED}${PATH ? ` path ${PATH}` : ''}`);
      const never = api.operations
        .map((o) => o.id)
        .filter((id) => ![...(world.stats.byOp.get(id)?.keys() ?? [])].some((s) => s >= 200 && s < 300));
      notes.push(`operations answered 2xx at least once: ${api.operations.length - never.length}/${api.operations.length}${never.length ? `; never: ${never.join(', ')}` : ''}`);
      expectNoViolations(from);
    },
    // With throttling on, the harness waits out Retry-After on its own logins.
    Math.max(180_000, REQUESTS * (THROTTLED ? 2_000 : 120)),
  );

  it("leaves every row of the other users as it was (digest of the victim's and the admin's rows, by SQL)", async () => {
    const after = await world.digest();
    notes.push(`digest of the other users' rows: ${before.digest} before, ${after.digest} after (${JSON.stringify(after.counts)})`);
    expect(before.counts.patients).toBe(3);
    expect(before.counts.mappings).toBe(3);
    expect(after.tables).toEqual(before.tables);
    // And the digest does see a change: one character of a victim's address, put back at once.
    const [victimPatient] = world.victim.patients;
    await t.dataSource.query("UPDATE patients SET address = address || '!' WHERE id = $1", [victimPatient.id]);
    const touched = await world.digest();
    await t.dataSource.query('UPDATE patients SET address = left(address, -1) WHERE id = $1', [victimPatient.id]);
    expect(touched.tables.patients).not.toBe(before.tables.patients);
    expect((await world.digest()).tables).toEqual(before.tables);
    // No account became an admin through a registration or an update, but the bystander the admin may promote
    // (the second admin, whose cursors are foreign to the first, was made one by SQL when the world was seeded),
    // and accounts an admin made with POST /api/admin/users/ (an admin may make admins).
    const admins = (await t.dataSource.query("SELECT id FROM users WHERE role = 'admin'")) as { id: string }[];
    const byAdmins = (await t.dataSource.query(
      `SELECT resource_id AS id FROM audit_events
        WHERE action = 'create' AND resource_type = 'user' AND status = 201 AND actor_id = ANY ($1)`,
      [[world.admin.id, world.otherAdmin.id]],
    )) as { id: string }[];
    const made = [world.admin.id, world.otherAdmin.id, ...byAdmins.map((u) => u.id)];
    expect(admins.map((a) => a.id).filter((id) => !made.includes(id) && id !== world.bystander.id)).toEqual([]);
  });

  it('the victim still logs in with its password and sees exactly its own records', async () => {
    const login = await world.patiently('/api/auth/login/', { username: world.victim.username, password: world.victim.password });
    expect(login.status).toBe(200);
    const list = await t.http.get('/api/patients/?page_size=100', { token: login.body.access });
    expect(list.body.results.map((p: { id: string }) => p.id).sort()).toEqual(world.victim.patients.map((p) => p.id).sort());
  });

  describe('headers outside the generated operations', () => {
    it('Swagger UI: its own strict CSP, no-store on the page; static assets revalidated every time (max-age=0)', async () => {
      const page = await t.http.get('/docs');
      expect({ status: page.status, cache: page.headers.get('cache-control'), ...common(page) }).toEqual({ status: 200, cache: 'no-store', ...COMMON });
      expect(cspOf(page)).toEqual(STRICT_PAGE);
      const assets = [...page.text.matchAll(/(?:src|href)="\.\/docs\/([^"]+)"/g)].map((m) => m[1]);
      expect(assets.length).toBeGreaterThan(2);
      const seen: string[] = [];
      for (const asset of assets) {
        const res = await t.http.get(`/docs/${asset}`);
        expect({ status: res.status, ...common(res) }).toEqual({ status: 200, ...COMMON });
        // @fastify/static answers "public, max-age=0" (revalidate every time); the generated init script, no-store.
        expect(['no-store', 'public, max-age=0']).toContain(res.headers.get('cache-control'));
        seen.push(`${asset}: ${res.headers.get('cache-control')}`);
      }
      notes.push(`/docs assets: ${seen.join('; ')}`);
      const json = await t.http.get('/docs-json');
      expect({ cache: json.headers.get('cache-control'), csp: json.headers.get('content-security-policy'), ...common(json) }).toEqual({
        cache: 'no-store',
        csp: API_CSP,
        ...COMMON,
      });
    });

    it('the staff console: its page no-cache, its hashed assets immutable, its own strict CSP', async () => {
      const page = await t.http.get('/admin');
      expect(common(page)).toEqual(COMMON);
      expect(cspOf(page)).toEqual(STRICT_PAGE);
      if (page.status === 404) {
        // Not built (no dist/admin): the page says so as a problem, not cached.
        notes.push('/admin: console not built, 404 problem');
        expect(page.headers.get('cache-control')).toBe('no-store');
        return;
      }
      expect({ status: page.status, cache: page.headers.get('cache-control') }).toEqual({ status: 200, cache: 'no-cache' });
      const assets = [...page.text.matchAll(/(?:src|href)="(\/admin\/[^"]+)"/g)].map((m) => m[1]);
      expect(assets.length).toBeGreaterThan(0);
      for (const asset of assets) {
        const res = await t.http.get(asset);
        expect({ status: res.status, cache: res.headers.get('cache-control'), ...common(res) }).toEqual({
          status: 200,
          cache: asset.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
          ...COMMON,
        });
      }
      const missing = await t.http.get('/admin/assets/nope.js');
      // Under /admin, the console's CSP; otherwise an API problem.
      expect({ ...problemHeaders(missing), csp: undefined }).toEqual({ status: 404, ...PROBLEM, csp: undefined });
    });

    const preflight = { origin: 'https://clinic.example', 'access-control-request-method': 'POST' };
    it.each<[string, () => Promise<HttpResponse>, number]>([
      ['unknown route', () => t.http.get('/api/nothing-here/'), 404],
      ['method not allowed', () => t.http.request('PATCH', '/api/patients/'), 405],
      ['a preflight without CORS_ORIGINS', () => t.http.request('OPTIONS', '/api/patients/', { headers: preflight }), 405],
      [
        'body too large',
        () => t.http.post('/api/auth/login/', undefined, { raw: `"${'x'.repeat(200_000)}"`, headers: { 'content-type': 'application/json' } }),
        413,
      ],
      ['bad URL encoding', () => t.http.get('/api/patients/%E0%A4%A/'), 400],
      ['over-long path segment', () => t.http.get(`/api/doctors/${'a'.repeat(300)}/`), 414],
      ['headers too large (answered on the socket)', () => rawRequest(t.baseUrl, 'GET', '/health', { 'x-big': 'a'.repeat(20_000) }), 431],
      ['Host not allowed', () => rawRequest(t.baseUrl, 'GET', '/api/patients/', { host: 'evil.example' }), 400],
    ])('%s: problem+json, no-store, nosniff, the API CSP', async (_label, sendIt, status) => {
      const res = await sendIt();
      expect(problemHeaders(res)).toEqual({ status, ...PROBLEM });
      expect(api.problem(res.body)).toBe(true);
    });

    it('a Host not in ALLOWED_HOSTS gets 400, an allowed one (any port, any case) is served', async () => {
      const tricks = ['localhost@evil.example', 'evil.example#localhost', 'localhost.evil.example', '127.0.0.1.nip.io', '[::2]', 'localhost:abc', '127.0.0.2'];
      const evil = fc
        .oneof(
          fc.domain(),
          fc.ipV4(),
          fc.tuple(fc.domain(), fc.integer({ min: 1, max: 65535 })).map(([d, p]) => `${d}:${p}`),
          fc.constantFrom(...tricks),
        )
        .filter((h) => !/^(localhost|127\.0\.0\.1)\.?(:\d+)?$/i.test(h))
        .map((host) => ({ host, allowed: false }));
      const good = fc
        .tuple(fc.constantFrom('localhost', 'LOCALHOST', 'localhost.', '127.0.0.1', '[::1]'), fc.option(fc.integer({ min: 1, max: 65535 })))
        .map(([h, p]) => ({ host: p === null ? h : `${h}:${p}`, allowed: true }));
      let refused = 0;
      await fc.assert(
        fc.asyncProperty(fc.oneof(evil, good), async ({ host, allowed }) => {
          const res = await rawRequest(t.baseUrl, 'GET', '/api/auth/me/', { host });
          if (allowed) expect(res.status).toBe(401);
          else {
            refused++;
            expect(problemHeaders(res)).toEqual({ status: 400, ...PROBLEM });
          }
        }),
        { numRuns: 200, seed: SEED },
      );
      notes.push(`Host check: ${refused} hosts refused with 400 out of 200 tried`);
    });
  });
});
