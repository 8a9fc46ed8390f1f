import { STATUS_CODES } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildPatient, buildUser, createPatient, createUser, type TestUser } from './utils/factories.js';
import { rawRequest } from './utils/http.js';
import { expectProblem } from './utils/problem.js';

const BODY_LIMIT = 102_400;
/** The members a problem body may have: RFC 9457's, `errors`, and our two extensions. */
const PROBLEM_MEMBERS = ['type', 'title', 'status', 'detail', 'errors', 'instance', 'request_id'];

/**
 * A request through node:http, for what fetch will not send: a body without a
 * Content-Type, or a POST without any body at all.
 */

/** {"name":[[[...]]]}: `depth` levels of nesting in all, the outer object included. */
function nestedBody(depth: number): string {
  return `{"name":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
}

describe('Errors and bad input (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await createUser(t.http);
  });
  afterAll(() => t?.close());

  /** A JSON write with a body sent exactly as given. */
  const sendRaw = (method: string, path: string, raw: string, contentType = 'application/json') =>
    t.http.request(method, path, { raw, token: alice.access, headers: { 'content-type': contentType } });

  describe('the problem+json shape', () => {
    it.each([
      ['400 validation', () => t.http.post('/api/patients/', { name: '' }, { token: alice.access }), 400],
      ['400 malformed JSON', () => sendRaw('POST', '/api/patients/', '{"name":'), 400],
      ['401 no token', () => t.http.get('/api/patients/'), 401],
      ['404 unknown route', () => t.http.get('/api/nothing-here/', { token: alice.access }), 404],
      ['404 unknown id', () => t.http.get('/api/patients/00000000-0000-4000-8000-000000000000/', { token: alice.access }), 404],
      ['413 body too large', () => sendRaw('POST', '/api/patients/', JSON.stringify({ name: 'x'.repeat(BODY_LIMIT) })), 413],
      ['415 text/plain', () => sendRaw('POST', '/api/patients/', '{}', 'text/plain'), 415],
    ])('%s: RFC 9457 members only, title from the status', async (_kind, send, status) => {
      const res = await send();
      expectProblem(res, status);
      expect(PROBLEM_MEMBERS).toEqual(expect.arrayContaining(Object.keys(res.body)));
      expect(res.body).toMatchObject({ type: 'about:blank', title: STATUS_CODES[status], status });
      expect(res.body.request_id).toBe(res.headers.get('x-request-id'));
    });

    it('409 for a duplicate is problem+json too', async () => {
      const input = buildUser();
      expect((await t.http.post('/api/auth/register/', input)).status).toBe(201);
      const res = await t.http.post('/api/auth/register/', { ...input, username: `${input.username}2` });
      expectProblem(res, 409);
    });
  });

  describe('malformed JSON', () => {
    it.each(['{"name":', '{name: "x"}', "{'name': 'x'}", '{"age": 1,}', '[1,]', 'nul', '{"a":1}{"b":2}', '   '])(
      '400 for %j',
      async (raw) => {
        const res = await sendRaw('POST', '/api/patients/', raw);
        expectProblem(res, 400);
        expect(res.body.errors).toBeUndefined();
      },
    );
  });

  describe('body size', () => {
    /** A valid patient, padded with whitespace to exactly `bytes` bytes. */
    function patientOfSize(bytes: number): string {
      const json = JSON.stringify({ ...buildPatient(), address: '' });
      const body = `${json.slice(0, -1)}${' '.repeat(bytes - Buffer.byteLength(json))}}`;
      expect(Buffer.byteLength(body)).toBe(bytes);
      return body;
    }

    it('accepts a body of exactly 102,400 bytes', async () => {
      const res = await sendRaw('POST', '/api/patients/', patientOfSize(BODY_LIMIT));
      expect(res.status).toBe(201);
    });

    it('413 for one byte more', async () => {
      expectProblem(await sendRaw('POST', '/api/patients/', patientOfSize(BODY_LIMIT + 1)), 413);
    });

    it('counts bytes, not characters', async () => {
      // 60,000 two-byte characters: under the limit in characters, over it in bytes.
      const raw = JSON.stringify({ ...buildPatient(), address: 'é'.repeat(60_000) });
      expect(raw.length).toBeLessThan(BODY_LIMIT);
      expect(Buffer.byteLength(raw)).toBeGreaterThan(BODY_LIMIT);
      expectProblem(await sendRaw('POST', '/api/patients/', raw), 413);
    });

    it('413 on PUT and PATCH too, and before authentication', async () => {
      const p = await createPatient(t.http, alice.access);
      const big = JSON.stringify({ address: 'x'.repeat(BODY_LIMIT) });
      expectProblem(await sendRaw('PUT', `/api/patients/${p.id}/`, big), 413);
      expectProblem(await sendRaw('PATCH', `/api/patients/${p.id}/`, big), 413);
      expectProblem(await t.http.post('/api/auth/login/', undefined, { raw: big, headers: { 'content-type': 'application/json' } }), 413);
    });
  });

  describe('content type', () => {
    it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonx'])(
      '415 for a write sent as %s',
      async (contentType) => {
        const res = await sendRaw('POST', '/api/patients/', JSON.stringify(buildPatient()), contentType);
        expectProblem(res, 415);
      },
    );

    it('415 for PUT and PATCH with a non-JSON type', async () => {
      const p = await createPatient(t.http, alice.access);
      expectProblem(await sendRaw('PUT', `/api/patients/${p.id}/`, JSON.stringify(buildPatient()), 'text/plain'), 415);
      expectProblem(await sendRaw('PATCH', `/api/patients/${p.id}/`, 'age=3', 'application/x-www-form-urlencoded'), 415);
    });

    it('415 for a body without any Content-Type', async () => {
      const raw = JSON.stringify(buildPatient());
      const res = await rawRequest(t.baseUrl, 'POST', '/api/patients/', {
        authorization: `Bearer ${alice.access}`,
        'content-length': String(Buffer.byteLength(raw)),
      }, raw);
      expectProblem(res, 415);
    });

    it('accepts application/json with a charset parameter', async () => {
      const res = await sendRaw('POST', '/api/patients/', JSON.stringify(buildPatient()), 'application/json; charset=utf-8');
      expect(res.status).toBe(201);
    });

    it('POST /api/auth/logout-all/ needs no body and no Content-Type', async () => {
      const bob = await createUser(t.http);
      const res = await rawRequest(t.baseUrl, 'POST', '/api/auth/logout-all/', { authorization: `Bearer ${bob.access}` });
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
    });

    it('an empty body with Content-Type: application/json counts as no body', async () => {
      const carol = await createUser(t.http);
      const res = await rawRequest(t.baseUrl, 'POST', '/api/auth/logout-all/', {
        authorization: `Bearer ${carol.access}`,
        'content-type': 'application/json',
        'content-length': '0',
      }, '');
      expect(res.status).toBe(204);
      // ...and where a body is required, it is the missing fields that are named.
      expectProblem(await sendRaw('POST', '/api/patients/', ''), 400, ['age', 'gender', 'name']);
    });
  });

  describe('unknown fields and wrong types', () => {
    it('400 naming every unknown field, in errors and in detail', async () => {
      const res = await t.http.post('/api/patients/', { ...buildPatient(), owner: alice.id, is_admin: true }, { token: alice.access });
      expectProblem(res, 400, ['is_admin', 'owner']);
      expect(res.body.detail).toMatch(/owner/);
      expect(res.body.detail).toMatch(/is_admin/);
    });

    it('unknown fields on PATCH and on auth routes too', async () => {
      const p = await createPatient(t.http, alice.access);
      expectProblem(await t.http.patch(`/api/patients/${p.id}/`, { id: p.id }, { token: alice.access }), 400, ['id']);
      expectProblem(await t.http.post('/api/auth/register/', { ...buildUser(), role: 'admin' }), 400, ['role']);
    });

    it.each([
      [{ username: 5 }, ['username']],
      [{ username: ['a', 'b', 'c'] }, ['username']],
      [{ email: { address: 'a@b.example' } }, ['email']],
      [{ password: null }, ['password']],
      [{ username: true, email: 1 }, ['email', 'username']],
    ])('400 for a wrong type %j', async (patch, fields) => {
      expectProblem(await t.http.post('/api/auth/register/', { ...buildUser(), ...patch }), 400, fields);
    });

    it('a validation error never echoes the value or validator internals', async () => {
      const secret = `SECRET-${'q'.repeat(300)}`;
      const res = await t.http.post('/api/patients/', buildPatient({ name: secret, age: 'NOT-A-NUMBER' }), { token: alice.access });
      expectProblem(res, 400, ['age', 'name']);
      expect(PROBLEM_MEMBERS).toEqual(expect.arrayContaining(Object.keys(res.body)));
      expect(res.text).not.toContain('SECRET');
      expect(res.text).not.toContain('NOT-A-NUMBER');
      expect(res.text).not.toMatch(/"(constraints|children|target|value|property)"/);
      for (const messages of Object.values(res.body.errors as Record<string, unknown>)) {
        expect(messages).toEqual(expect.arrayContaining([expect.any(String)]));
      }
    });
  });

  describe('nesting depth', () => {
    it('400 for JSON nested deeper than 32 levels', async () => {
      const res = await sendRaw('POST', '/api/patients/', nestedBody(33));
      // The field is named in errors, as validation names it (issue 10).
      expectProblem(res, 400, ['name']);
      expect(res.body.detail).toMatch(/nested deeper than 32/);
      expect(res.body.errors.name).toEqual(['name is nested deeper than 32 levels']);
    });

    it('32 levels pass the depth check (and then fail validation of the field)', async () => {
      const res = await sendRaw('POST', '/api/patients/', nestedBody(32));
      expectProblem(res, 400);
      expect(res.body.detail).not.toMatch(/nested/);
      expect(Object.keys(res.body.errors)).toContain('name');
    });

    it('brackets inside strings are not nesting', async () => {
      const name = `${'['.repeat(40)}"{\\`;
      const res = await t.http.post('/api/patients/', buildPatient({ name }), { token: alice.access });
      expect(res.status).toBe(201);
      expect(res.body.name).toBe(name);
    });

    it('a very deep body is refused, not a stack overflow', async () => {
      const depth = 50_000;
      expectProblem(await sendRaw('POST', '/api/patients/', `${'['.repeat(depth)}${']'.repeat(depth)}`), 400);
    });
  });

  describe('strings PostgreSQL cannot store', () => {
    it.each([
      ['a NUL in a value', '{"name":"a\\u0000b","age":3,"gender":"male"}', /name/, 'name'],
      ['a lone high surrogate in a value', '{"name":"a\\ud800b","age":3,"gender":"male"}', /name/, 'name'],
      ['a lone low surrogate in a value', '{"name":"\\udc00","age":3,"gender":"male"}', /name/, 'name'],
      ['a reversed pair in a value', '{"name":"\\ude7a\\ud83e","age":3,"gender":"male"}', /name/, 'name'],
      ['a NUL in a key', '{"na\\u0000me":"x","age":3,"gender":"male"}', /contains a NUL/, 'na\\u0000me'],
      ['a lone surrogate in a key', '{"\\ud800":"x","age":3,"gender":"male"}', /contains a NUL/, '\\ud800'],
      ['a NUL in a nested value', '{"name":"x","age":3,"gender":"male","address":["\\u0000"]}', /address\[0\]/, 'address[0]'],
    ])('400 for %s, the field named in errors', async (_kind, raw, detail, field) => {
      const res = await sendRaw('POST', '/api/patients/', raw);
      expectProblem(res, 400, [field]);
      expect(res.body.detail).toMatch(detail);
      // Never the raw character: it could not be stored, logged or shown either.
      expect(res.text).not.toMatch(/(?<!\\)\\u(0000|d800)/);
    });

    it('400 on PATCH and on auth routes too', async () => {
      const p = await createPatient(t.http, alice.access);
      expectProblem(await sendRaw('PATCH', `/api/patients/${p.id}/`, '{"address":"x\\u0000"}'), 400);
      expectProblem(
        await t.http.post('/api/auth/login/', undefined, {
          raw: '{"username":"\\ud800","password":"x"}',
          headers: { 'content-type': 'application/json' },
        }),
        400,
      );
    });

    it('400 for a NUL in a query value or a query key', async () => {
      expectProblem(await t.http.get('/api/patients/?search=a%00b', { token: alice.access }), 400, ['search']);
      expectProblem(await t.http.get('/api/doctors/?specialization=%00', { token: alice.access }), 400, ['specialization']);
      expectProblem(await t.http.get('/api/patients/?se%00arch=a', { token: alice.access }), 400);
    });

    it('a percent-encoded surrogate in a query is not decoded into a lone surrogate', async () => {
      // UTF-8 cannot encode a lone surrogate; its CESU-8 bytes are invalid UTF-8, which the
      // query parser leaves undecoded, so nothing unstorable reaches the database.
      const res = await t.http.get('/api/patients/?search=a%ED%A0%80b', { token: alice.access });
      expect(res.status).toBe(200);
      expect(res.body.results).toEqual([]);
    });

    it('a paired surrogate (an emoji written as a JSON escape) is stored byte for byte', async () => {
      const res = await sendRaw('POST', '/api/patients/', '{"name":"Dr \\ud83e\\ude7a","age":3,"gender":"male"}');
      expect(res.status).toBe(201);
      expect(res.body.name).toBe('Dr 🩺');
      expect((await t.http.get(`/api/patients/${res.body.id}/`, { token: alice.access })).body.name).toBe('Dr 🩺');
    });
  });

  describe('prototype poisoning', () => {
    it.each([
      '{"__proto__":{"polluted":true}}',
      '{"name":"x","age":3,"gender":"male","__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"name":"x","address":{"constructor":{"prototype":{"polluted":true}}}}',
    ])('400 for %s, and nothing is polluted', async (raw) => {
      const res = await sendRaw('POST', '/api/patients/', raw);
      expectProblem(res, 400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  describe('a body that is not an object', () => {
    it.each(['[]', '[{}]', JSON.stringify([buildPatient()]), '"x"', '42', 'true', 'null'])(
      'POST %s is 400, not 500',
      async (raw) => {
        expectProblem(await sendRaw('POST', '/api/patients/', raw), 400);
      },
    );

    it.each(['[]', '[{"age":3}]', '"name"', '7', 'false'])('PATCH and PUT %s are 400', async (raw) => {
      const p = await createPatient(t.http, alice.access);
      expectProblem(await sendRaw('PATCH', `/api/patients/${p.id}/`, raw), 400);
      expectProblem(await sendRaw('PUT', `/api/patients/${p.id}/`, raw), 400);
      const still = await t.http.get(`/api/patients/${p.id}/`, { token: alice.access });
      expect(still.body).toMatchObject({ name: p.name, age: p.age, gender: p.gender, address: p.address });
    });

    it('an array body on login is 400', async () => {
      expectProblem(await t.http.post('/api/auth/login/', [{ username: alice.username, password: 'x' }]), 400);
    });
  });

  describe('numbers', () => {
    const patientWithAge = (age: string) => sendRaw('POST', '/api/patients/', `{"name":"n","gender":"male","address":"","age":${age}}`);

    it.each(['1e309', '-1e309', '1e400', '9007199254740993', '99999999999999999999999', '151', '4.5', '1e-7'])(
      'age %s is 400 naming age',
      async (age) => {
        expectProblem(await patientWithAge(age), 400, ['age']);
      },
    );

    it.each([
      ['-0', 0],
      ['1e2', 100],
      ['1.0', 1],
      ['150', 150],
    ])('age %s is the integer %d', async (age, stored) => {
      const res = await patientWithAge(age);
      expect(res.status).toBe(201);
      expect(Object.is(res.body.age, stored)).toBe(true);
    });

    it.each([
      'min_age=1e309',
      'max_age=99999999999999999999999',
      'min_age=-0',
      'min_age=0x10',
      'page_size=0',
      'page_size=-1',
      'page_size=1.5',
      'page_size=1e3',
      'page_size=',
      'min_age=1&min_age=2',
      'search=a&search=b',
    ])('query %s is 400, not 500', async (query) => {
      expectProblem(await t.http.get(`/api/patients/?${query}`, { token: alice.access }), 400);
    });

    it('a huge page_size is capped, not refused', async () => {
      const res = await t.http.get('/api/patients/?page_size=99999999999999999999999', { token: alice.access });
      expect(res.status).toBe(200);
    });
  });

  describe('routes and paths', () => {
    it.each([
      ['GET', '/nope'],
      ['GET', '/api/'],
      ['GET', '/api/patients/00000000-0000-4000-8000-000000000000/extra/'],
      // A method the path does not have is a 405: test/methods.e2e.spec.ts.
    ])('%s %s is a 404 problem, with or without a token', async (method, path) => {
      expectProblem(await t.http.request(method, path, { token: alice.access }), 404);
      expectProblem(await t.http.request(method, path), 404);
    });

    it('a NUL or a non-UUID in a path id is 404', async () => {
      expectProblem(await t.http.get('/api/patients/%00/', { token: alice.access }), 404);
      expectProblem(await t.http.get("/api/patients/1'%20OR%20'1'='1/", { token: alice.access }), 404);
    });

    it('a badly percent-encoded path is a 400 problem that does not echo the path', async () => {
      const res = await t.http.get('/api/patients/%E0%A4%A/', { token: alice.access });
      expectProblem(res, 400);
      expect(res.text).not.toContain('%E0');
    });

    it('an over-long path segment is a 414 problem', async () => {
      const res = await t.http.get(`/api/patients/${'a'.repeat(500)}/`, { token: alice.access });
      expectProblem(res, 414);
      expect(res.text).not.toContain('aaaa');
    });
  });
});
